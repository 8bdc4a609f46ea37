"""The data plane's pure decisions: column type inference, profiles, class suggestion."""
