"""The durable job queue: side effects (Shopify writes, emails) are rows, executed by a worker
under a lease, retried with backoff, parked when they keep failing, never lost."""
