"""Users of an organisation: created or invited by an organisation administrator (with project roles),
invitations redeemed by setting a password, deactivation; every change audited (recon.users)."""
