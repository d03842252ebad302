package exporter

import (
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipcwatch/ipcwatch/collector"
)

func sysvDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(namespace+"_sysv_"+name, help, []string{"ipc_namespace"}, nil)
}

// pageSize turns kernel.shmall, in pages, into bytes.
var pageSize = float64(os.Getpagesize())

var (
	sysvMsgQueuedDesc = prometheus.NewDesc(namespace+"_sysv_msg_queued_bytes",
		"Bytes queued in a System V message queue.", []string{"key", "id"}, nil)
	sysvShmSizeDesc = prometheus.NewDesc(namespace+"_sysv_shm_size_bytes",
		"Size of a System V shared memory segment.", []string{"key", "id"}, nil)
	sysvShmAttachedDesc = prometheus.NewDesc(namespace+"_sysv_shm_attached_processes",
		"Processes attached to a System V shared memory segment (nattch).", []string{"key", "id"}, nil)

	// Limits and usage, per IPC namespace.
	sysvMsgQueuesDesc      = sysvDesc("msg_queues", "System V message queues in the IPC namespace.")
	sysvMsgQueuesLimitDesc = sysvDesc("msg_queues_limit", "Most System V message queues the IPC namespace allows (kernel.msgmni).")
	sysvMsgMessagesDesc    = sysvDesc("msg_messages", "Messages queued in all System V message queues of the IPC namespace.")
	sysvMsgBytesDesc       = sysvDesc("msg_bytes", "Bytes queued in all System V message queues of the IPC namespace.")
	sysvMsgMaxDesc         = sysvDesc("msg_message_max_bytes", "Largest System V message the IPC namespace allows (kernel.msgmax).")
	sysvMsgMnbDesc         = sysvDesc("msg_queue_max_bytes", "Default byte limit of a new System V message queue (kernel.msgmnb).")

	sysvShmSegmentsDesc      = sysvDesc("shm_segments", "System V shared memory segments in the IPC namespace.")
	sysvShmSegmentsLimitDesc = sysvDesc("shm_segments_limit", "Most System V shared memory segments the IPC namespace allows (kernel.shmmni).")
	sysvShmBytesDesc         = sysvDesc("shm_bytes", "Bytes of all System V shared memory segments of the IPC namespace.")
	sysvShmBytesLimitDesc    = sysvDesc("shm_bytes_limit", "Most bytes of System V shared memory the IPC namespace allows (kernel.shmall pages).")
	sysvShmSegmentMaxDesc    = sysvDesc("shm_segment_max_bytes", "Largest System V shared memory segment the IPC namespace allows (kernel.shmmax).")

	sysvSemSetsDesc            = sysvDesc("sem_sets", "System V semaphore sets in the IPC namespace.")
	sysvSemSetsLimitDesc       = sysvDesc("sem_sets_limit", "Most System V semaphore sets the IPC namespace allows (kernel.sem SEMMNI).")
	sysvSemSemaphoresDesc      = sysvDesc("sem_semaphores", "System V semaphores in all sets of the IPC namespace.")
	sysvSemSemaphoresLimitDesc = sysvDesc("sem_semaphores_limit", "Most System V semaphores the IPC namespace allows (kernel.sem SEMMNS).")
	sysvSemPerSetLimitDesc     = sysvDesc("sem_per_set_limit", "Most semaphores in one System V set (kernel.sem SEMMSL).")
	sysvSemOpsPerCallLimitDesc = sysvDesc("sem_ops_per_call_limit", "Most operations in one semop call (kernel.sem SEMOPM).")
)

func updateSysVMsg(e *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
	gauge(ch, objectsDesc, float64(countObjects(s.inv, collector.TypeSysVMsg)), collector.TypeSysVMsg)
	var series []objectSeries
	for i := range s.inv.Objects {
		o := &s.inv.Objects[i]
		if o.Type != collector.TypeSysVMsg || o.Attributes.QueuedBytes == nil {
			continue
		}
		series = append(series, objectSeries{sysvLabels(o), []float64{float64(*o.Attributes.QueuedBytes)}})
	}
	for _, q := range boundObjects(series, e.cfg.MaxObjects) {
		gauge(ch, sysvMsgQueuedDesc, q.values[0], q.labels...)
	}
	for _, v := range s.inv.SysV {
		ns := strconv.FormatUint(v.Namespace, 10)
		gauge(ch, sysvMsgQueuesDesc, float64(v.MsgQueues), ns)
		gauge(ch, sysvMsgQueuesLimitDesc, float64(v.MsgMni), ns)
		gauge(ch, sysvMsgMessagesDesc, float64(v.MsgMessages), ns)
		gauge(ch, sysvMsgBytesDesc, float64(v.MsgBytes), ns)
		gauge(ch, sysvMsgMaxDesc, float64(v.MsgMax), ns)
		gauge(ch, sysvMsgMnbDesc, float64(v.MsgMnb), ns)
	}
	return nil
}

func updateSysVShm(e *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
	gauge(ch, objectsDesc, float64(countObjects(s.inv, collector.TypeSysVShm)), collector.TypeSysVShm)
	var series []objectSeries
	for i := range s.inv.Objects {
		o := &s.inv.Objects[i]
		a := &o.Attributes
		if o.Type != collector.TypeSysVShm || a.SizeBytes == nil || a.Attached == nil {
			continue
		}
		series = append(series, objectSeries{sysvLabels(o), []float64{float64(*a.SizeBytes), float64(*a.Attached)}})
	}
	for _, q := range boundObjects(series, e.cfg.MaxObjects) {
		gauge(ch, sysvShmSizeDesc, q.values[0], q.labels...)
		gauge(ch, sysvShmAttachedDesc, q.values[1], q.labels...)
	}
	for _, v := range s.inv.SysV {
		ns := strconv.FormatUint(v.Namespace, 10)
		gauge(ch, sysvShmSegmentsDesc, float64(v.ShmSegments), ns)
		gauge(ch, sysvShmSegmentsLimitDesc, float64(v.ShmMni), ns)
		gauge(ch, sysvShmBytesDesc, float64(v.ShmBytes), ns)
		gauge(ch, sysvShmBytesLimitDesc, float64(v.ShmAll)*pageSize, ns)
		gauge(ch, sysvShmSegmentMaxDesc, float64(v.ShmMax), ns)
	}
	return nil
}

func updateSysVSem(_ *Exporter, s *scrape, ch chan<- prometheus.Metric) error {
	gauge(ch, objectsDesc, float64(countObjects(s.inv, collector.TypeSysVSem)), collector.TypeSysVSem)
	for _, v := range s.inv.SysV {
		ns := strconv.FormatUint(v.Namespace, 10)
		gauge(ch, sysvSemSetsDesc, float64(v.SemSets), ns)
		gauge(ch, sysvSemSetsLimitDesc, float64(v.SemMni), ns)
		gauge(ch, sysvSemSemaphoresDesc, float64(v.SemSemaphores), ns)
		gauge(ch, sysvSemSemaphoresLimitDesc, float64(v.SemMns), ns)
		gauge(ch, sysvSemPerSetLimitDesc, float64(v.SemMsl), ns)
		gauge(ch, sysvSemOpsPerCallLimitDesc, float64(v.SemOpm), ns)
	}
	return nil
}
