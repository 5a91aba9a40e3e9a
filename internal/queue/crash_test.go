package queue

// crash stops the queue the way kill -9 would: no acks, no naks, no drain.
func (q *Queue) crash() {
	q.abort() // the worker goroutines of a killed process do nothing more
	q.nc.Close()
	q.ns.Shutdown()
	q.ns.WaitForShutdown()
	q.ns, q.nc, q.stop = nil, nil, nil
}
