"""Review of run results: decisions with maker-checker, assignment, comments, sign-off (recon.review)."""
