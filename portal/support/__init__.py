"""Where support agents work: the queue, a request's detail, and the three resolution paths."""
