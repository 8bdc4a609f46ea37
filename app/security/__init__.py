"""Security of the API: who is calling (authentication), the one seam every
resolver goes through (authorization), rate limits. Pure rules live in
domain/security.py, stored tokens, grants and policies in adapters/security_sql.py."""
