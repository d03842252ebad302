package exporter

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipcwatch/ipcwatch/collector"
)

// The inventory collectors: one per object type, except the three kinds of
// Unix socket, which share one (their paths share a namespace).
func init() {
	for _, t := range []struct{ name, help string }{
		{collector.TypePipe, "anonymous pipes and how full they are"},
		{collector.TypeFIFO, "named pipes and how full they are"},
	} {
		registerArea(&area{name: t.name, help: t.help, defaultOn: true,
			kinds: []string{t.name}, update: updatePipes(t.name)})
	}
	registerArea(&area{name: "unix", help: "Unix domain sockets: backlogs and queued bytes by path", defaultOn: true,
		kinds:  []string{collector.TypeUnixStream, collector.TypeUnixDgram, collector.TypeUnixSeqpacket},
		update: updateUnix})
	registerArea(&area{name: collector.TypePosixMQ, help: "POSIX message queues", defaultOn: true,
		kinds: []string{collector.TypePosixMQ}, update: updatePosixMQ})
	registerArea(&area{name: collector.TypeSysVMsg, help: "System V message queues, limits and usage", defaultOn: true,
		kinds: []string{collector.TypeSysVMsg}, update: updateSysVMsg})
	registerArea(&area{name: collector.TypeSysVShm, help: "System V shared memory, limits and usage", defaultOn: true,
		kinds: []string{collector.TypeSysVShm}, update: updateSysVShm})
	registerArea(&area{name: collector.TypeSysVSem, help: "System V semaphore sets, limits and usage", defaultOn: true,
		kinds: []string{collector.TypeSysVSem}, update: updateSysVSem})
	registerArea(&area{name: collector.TypePosixShm, help: "POSIX shared memory, memfds and /dev/shm", defaultOn: true,
		kinds: []string{collector.TypePosixShm}, update: updatePosixShm})
	for _, t := range []struct{ name, help string }{
		{collector.TypeEventfd, "eventfds"},
		{collector.TypeSignalfd, "signalfds"},
		{collector.TypeMmap, "shared file mappings"},
	} {
		registerArea(&area{name: t.name, help: t.help, defaultOn: true,
			kinds: []string{t.name}, update: updateCount(t.name)})
	}
}

var (
	objectsDesc = prometheus.NewDesc(namespace+"_objects",
		"Live IPC objects of each type.", []string{"type"}, nil)

	pipesFullDesc = prometheus.NewDesc(namespace+"_pipes_full",
		"Pipes (type=pipe) and FIFOs (type=fifo) whose buffer is full: their writers block.", []string{"type"}, nil)
	pipeFillDesc = prometheus.NewDesc(namespace+"_pipe_fill_ratio",
		"How full the buffers of the live pipes and FIFOs are (queued bytes / capacity), as a distribution over the pipes alive now.", []string{"type"}, nil)

	unixBacklogDesc = prometheus.NewDesc(namespace+"_unix_socket_backlog",
		"Connections waiting to be accepted on a listening Unix socket, by path.", []string{"path"}, nil)
	unixBacklogLimitDesc = prometheus.NewDesc(namespace+"_unix_socket_backlog_limit",
		"The listen() backlog of a listening Unix socket, by path.", []string{"path"}, nil)
	unixQueuedDesc = prometheus.NewDesc(namespace+"_unix_socket_queued_bytes",
		"Bytes queued in the Unix sockets bound to a path: queue=recv waiting to be read, queue=send written and not yet read by the peer.", []string{"path", "queue"}, nil)

	mqMessagesDesc = prometheus.NewDesc(namespace+"_posix_mq_messages",
		"Messages queued in a POSIX message queue.", []string{"name"}, nil)
	mqQueuedDesc = prometheus.NewDesc(namespace+"_posix_mq_queued_bytes",
		"Bytes queued in a POSIX message queue.", []string{"name"}, nil)

	posixShmSizeDesc = prometheus.NewDesc(namespace+"_posix_shm_size_bytes",
		"Size of a POSIX shared memory object in /dev/shm.", []string{"name"}, nil)
	devShmUsedDesc = prometheus.NewDesc(namespace+"_dev_shm_used_bytes",
		"Bytes used in the /dev/shm file system of a mount namespace.", []string{"mount_namespace"}, nil)
	devShmSizeDesc = prometheus.NewDesc(namespace+"_dev_shm_size_bytes",
		"Size of the /dev/shm file system of a mount namespace.", []string{"mount_namespace"}, nil)
)

// fillBuckets are the upper bounds of the pipe fill ratio histogram: empty,
// quarters, nearly full, full.
var fillBuckets = []float64{0, 0.25, 0.5, 0.75, 0.9, 1}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func countObjects(inv *collector.Inventory, typ string) int {
	n := 0
	for i := range inv.Objects {
		if inv.Objects[i].Type == typ {
			n++
		}
	}
	return n
}

func updateCount(typ string) func(*Exporter, *scrape, chan<- prometheus.Metric) error {
	return func(_ *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
		gauge(ch, objectsDesc, float64(countObjects(s.inv, typ)), typ)
		return nil
	}
}

func updatePipes(typ string) func(*Exporter, *scrape, chan<- prometheus.Metric) error {
	return func(_ *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
		gauge(ch, objectsDesc, float64(countObjects(s.inv, typ)), typ)
		var full, known uint64
		var sum float64
		buckets := make([]uint64, len(fillBuckets))
		for i := range s.inv.Objects {
			o := &s.inv.Objects[i]
			a := &o.Attributes
			if o.Type != typ || a.QueuedBytes == nil || a.CapacityBytes == nil || *a.CapacityBytes == 0 {
				continue
			}
			ratio := min(float64(*a.QueuedBytes)/float64(*a.CapacityBytes), 1)
			known++
			sum += ratio
			if *a.QueuedBytes >= *a.CapacityBytes {
				full++
			}
			for j, ub := range fillBuckets {
				if ratio <= ub {
					buckets[j]++
				}
			}
		}
		if known == 0 {
			// Bytes queued are unknown without the BPF pipe iterator:
			// absent, never 0.
			return nil
		}
		gauge(ch, pipesFullDesc, float64(full), typ)
		m := make(map[float64]uint64, len(fillBuckets))
		for j, ub := range fillBuckets {
			m[ub] = buckets[j]
		}
		ch <- prometheus.MustNewConstHistogram(pipeFillDesc, known, sum, m, typ)
		return nil
	}
}

func updateUnix(e *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
	for _, t := range []string{collector.TypeUnixStream, collector.TypeUnixDgram, collector.TypeUnixSeqpacket} {
		gauge(ch, objectsDesc, float64(countObjects(s.inv, t)), t)
	}
	var backlog, queued []objectSeries
	for i := range s.inv.Objects {
		o := &s.inv.Objects[i]
		switch o.Type {
		case collector.TypeUnixStream, collector.TypeUnixDgram, collector.TypeUnixSeqpacket:
		default:
			continue
		}
		if o.Name == "" {
			continue
		}
		path := o.Name
		if o.Attributes.Abstract && path[0] != '@' {
			path = "@" + path
		}
		path = label(path)
		a := &o.Attributes
		if a.Backlog != nil && a.BacklogLimit != nil {
			backlog = append(backlog, objectSeries{[]string{path}, []float64{float64(*a.Backlog), float64(*a.BacklogLimit)}})
			continue
		}
		if a.RecvQueueBytes != nil && a.SendQueueBytes != nil {
			queued = append(queued, objectSeries{[]string{path}, []float64{float64(*a.RecvQueueBytes), float64(*a.SendQueueBytes)}})
		}
	}
	for _, b := range boundObjects(backlog, e.cfg.MaxObjects) {
		gauge(ch, unixBacklogDesc, b.values[0], b.labels...)
		gauge(ch, unixBacklogLimitDesc, b.values[1], b.labels...)
	}
	for _, q := range boundObjects(queued, e.cfg.MaxObjects) {
		gauge(ch, unixQueuedDesc, q.values[0], q.labels[0], "recv")
		gauge(ch, unixQueuedDesc, q.values[1], q.labels[0], "send")
	}
	return nil
}

func updatePosixMQ(e *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
	gauge(ch, objectsDesc, float64(countObjects(s.inv, collector.TypePosixMQ)), collector.TypePosixMQ)
	var series []objectSeries
	for i := range s.inv.Objects {
		o := &s.inv.Objects[i]
		a := &o.Attributes
		if o.Type != collector.TypePosixMQ || a.QueuedBytes == nil || a.Messages == nil {
			continue
		}
		series = append(series, objectSeries{[]string{label(o.Name)}, []float64{float64(*a.QueuedBytes), float64(*a.Messages)}})
	}
	for _, q := range boundObjects(series, e.cfg.MaxObjects) {
		gauge(ch, mqQueuedDesc, q.values[0], q.labels...)
		gauge(ch, mqMessagesDesc, q.values[1], q.labels...)
	}
	return nil
}

func updatePosixShm(e *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
	gauge(ch, objectsDesc, float64(countObjects(s.inv, collector.TypePosixShm)), collector.TypePosixShm)
	var series []objectSeries
	for i := range s.inv.Objects {
		o := &s.inv.Objects[i]
		a := &o.Attributes
		// memfds have no name of their own in /dev/shm; they are counted
		// in ipcwatch_objects only.
		if o.Type != collector.TypePosixShm || a.Kind == "memfd" || o.Name == "" || a.SizeBytes == nil {
			continue
		}
		series = append(series, objectSeries{[]string{label(o.Name)}, []float64{float64(*a.SizeBytes)}})
	}
	for _, q := range boundObjects(series, e.cfg.MaxObjects) {
		gauge(ch, posixShmSizeDesc, q.values[0], q.labels...)
	}
	for _, fs := range s.inv.ShmFS {
		ns := strconv.FormatUint(fs.MountNS, 10)
		gauge(ch, devShmUsedDesc, float64(fs.UsedBytes), ns)
		gauge(ch, devShmSizeDesc, float64(fs.TotalBytes), ns)
	}
	return nil
}

// sysvLabels are the key (as ipcs prints it) and id of a System V object.
func sysvLabels(o *collector.Object) []string {
	key := "0x00000000"
	if o.Attributes.Key != nil {
		key = fmt.Sprintf("0x%08x", uint32(*o.Attributes.Key))
	}
	id := strconv.FormatUint(o.ID, 10)
	if o.Attributes.SysVID != nil {
		id = strconv.Itoa(*o.Attributes.SysVID)
	}
	return []string{key, id}
}
