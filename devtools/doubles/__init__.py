"""Loopback doubles of Azure services that speak the real wire format (tests only)."""
