"""Seeded, realistic demo data: a company ledger against a bank statement, with rules and ground truth."""

from recon.demo.generator import DemoFiles, generate

__all__ = ["DemoFiles", "generate"]
