package collector

// signals adds each process's pending, blocked, ignored and caught signal
// sets (/proc/PID/status).
func (b *build) signals() {
	for _, p := range b.procs {
		if p.Signals != nil {
			b.inv.Signals = append(b.inv.Signals, *p.Signals)
		}
	}
}
