"""Fault injection through the real Pulumi CLI against the ZStack simulator."""
