"""What shoppers see: finding their store, verifying their order, filing a request."""
