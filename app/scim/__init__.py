"""SCIM 2.0 provisioning (RFC 7643 / 7644): force credentials and the /scim/v2 service."""
