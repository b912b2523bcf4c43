"""The cockpit: reports over deals, leads, activities and the ledger, and Home."""
