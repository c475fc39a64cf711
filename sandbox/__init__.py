"""Local HubSpot-style and Mailchimp-style API servers for demos and tests.

Entry points live in :mod:`sandbox.server` (``SandboxConfig``, ``SandboxServer``, ``serve``).
"""
