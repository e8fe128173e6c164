"""What runs inside a worker: the Faust app, its topics, the input path every agent shares."""
