"""Project dashboard: match rates per run, open exceptions by age and owner, trends (recon.dashboard)."""
