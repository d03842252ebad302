package probes

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Snapshot reads what the probes aggregated since Load.
func (p *Probes) Snapshot() (*Snapshot, error) {
	s := &Snapshot{Probes: append([]ProbeStatus(nil), p.status...)}
	if p.sys != nil {
		s.Hook = p.sys.hook
		if err := p.readSyscalls(s); err != nil {
			return nil, err
		}
	}
	if p.sig != nil {
		if err := p.readSignals(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (p *Probes) readSyscalls(s *Snapshot) error {
	if err := p.sys.flushTasks(); err != nil {
		return fmt.Errorf("flushing the tasks' counters: %w", err)
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return fmt.Errorf("counting CPUs: %w", err)
	}
	entries := uint64(0)
	err = readAll(p.sys.maps.OpStats, cpus, func(key syscallsOpKey, vals []syscallsOpVal) {
		entries++
		c := OpCounters{Mechanism: mechNames[syscallsMech(key.Mech)], Op: opName(key.Op), PID: key.Pid}
		for _, v := range vals {
			c.Calls += v.Calls
			c.Errors += v.Errors
			c.Bytes += v.Bytes
			c.Nanos += v.Nanos
			if c.Comm == "" {
				c.Comm = unix.ByteSliceToString(int8Bytes(v.Comm[:]))
			}
		}
		s.Ops = append(s.Ops, c)
	})
	if err != nil {
		return fmt.Errorf("reading map op_stats: %w", err)
	}
	slices.SortFunc(s.Ops, func(a, b OpCounters) int {
		return cmp.Or(cmp.Compare(a.PID, b.PID), cmp.Compare(a.Mechanism, b.Mechanism), cmp.Compare(a.Op, b.Op))
	})

	err = readAll(p.sys.maps.OpHist, cpus, func(idx uint32, hists []syscallsHist) {
		h := sumHists(hists)
		if h.Count == 0 {
			return
		}
		s.Latency = append(s.Latency, OpLatency{
			Mechanism: mechNames[syscallsMech(idx/maxOps)], Op: opName(uint8(idx % maxOps)), Histogram: h,
		})
	})
	if err != nil {
		return fmt.Errorf("reading map op_hist: %w", err)
	}

	stats, err := readMapStats(p.sys.maps.OpMapStats, cpus, uint32(syscallsOpMapMAP_COUNT))
	if err != nil {
		return fmt.Errorf("reading map op_map_stats: %w", err)
	}
	s.Drops = append(s.Drops,
		MapDrops{Map: "op_stats", Dropped: dropped(stats[syscallsOpMapMAP_OP_STATS], entries)},
		MapDrops{Map: "inflight", Dropped: stats[syscallsOpMapMAP_INFLIGHT].Failures},
		MapDrops{Map: "futex_vma", Dropped: stats[syscallsOpMapMAP_FUTEX_VMA].Failures})
	return nil
}

func (p *Probes) readSignals(s *Snapshot) error {
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return fmt.Errorf("counting CPUs: %w", err)
	}
	entries := uint64(0)
	err = readAll(p.sig.SigStats, 1, func(key signalSigKey, vs []signalSigVal) {
		v := &vs[0]
		entries++
		s.Signals = append(s.Signals, SignalCount{
			Signal:       int(key.Sig),
			SenderPID:    key.Sender,
			SenderComm:   unix.ByteSliceToString(int8Bytes(v.SenderComm[:])),
			ReceiverPID:  key.Receiver,
			ReceiverComm: unix.ByteSliceToString(int8Bytes(v.ReceiverComm[:])),
			Generated:    v.Generated,
			Delivered:    v.Delivered,
		})
	})
	if err != nil {
		return fmt.Errorf("reading map sig_stats: %w", err)
	}
	slices.SortFunc(s.Signals, func(a, b SignalCount) int {
		return cmp.Or(cmp.Compare(a.Signal, b.Signal), cmp.Compare(a.SenderPID, b.SenderPID),
			cmp.Compare(a.ReceiverPID, b.ReceiverPID))
	})

	err = readAll(p.sig.SigHist, cpus, func(sig uint32, hists []signalHist) {
		var h Histogram
		for _, x := range hists {
			addHist(&h, x.Buckets[:], x.Count, x.Sum)
		}
		if h.Count > 0 {
			s.SignalLatency = append(s.SignalLatency, SignalLatency{Signal: int(sig), Histogram: h})
		}
	})
	if err != nil {
		return fmt.Errorf("reading map sig_hist: %w", err)
	}

	stats, err := readMapStats(p.sig.SigMapStats, cpus, uint32(signalSigMapMAP_SIG_COUNT))
	if err != nil {
		return fmt.Errorf("reading map sig_map_stats: %w", err)
	}
	s.Drops = append(s.Drops,
		MapDrops{Map: "sig_stats", Dropped: dropped(stats[signalSigMapMAP_SIG_STATS], entries)},
		MapDrops{Map: "sig_pending", Dropped: stats[signalSigMapMAP_SIG_PENDING].Failures})
	return nil
}

type mapStat struct{ Inserts, Failures uint64 }

// readMapStats sums a per-CPU array of n struct map_stat.
func readMapStats(m *ebpf.Map, cpus int, n uint32) ([]mapStat, error) {
	out := make([]mapStat, n)
	err := readAll(m, cpus, func(i uint32, vals []syscallsMapStat) {
		if i >= n {
			return
		}
		for _, v := range vals {
			out[i].Inserts += v.Inserts
			out[i].Failures += v.Failures
		}
	})
	return out, err
}

// dropped counts the entries an LRU map lost: inserts that failed, plus
// inserted entries that are no longer there (nothing else deletes them).
func dropped(st mapStat, entries uint64) uint64 {
	d := st.Failures
	if st.Inserts > entries {
		d += st.Inserts - entries
	}
	return d
}

func sumHists(hs []syscallsHist) Histogram {
	var h Histogram
	for _, x := range hs {
		addHist(&h, x.Buckets[:], x.Count, x.Sum)
	}
	return h
}

func addHist(h *Histogram, buckets []uint64, count, sum uint64) {
	for i, b := range buckets {
		h.Buckets[i] += b
	}
	h.Count += count
	h.Sum += sum
}

func opName(id uint8) string {
	if int(id) < len(opNames) {
		return opNames[id]
	}
	return fmt.Sprintf("op%d", id)
}

func int8Bytes(b []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// PipeBuffers runs the task_file iterator and returns the bytes queued in
// every open pipe and FIFO, keyed by inode number.
func (p *Probes) PipeBuffers() (map[uint64]PipeBuffer, error) {
	if p.pipe == nil {
		return nil, fmt.Errorf("listing pipe buffers: %w", ErrNotLoaded)
	}
	it, err := link.AttachIter(link.IterOptions{Program: p.pipe.PipeFills})
	if err != nil {
		return nil, fmt.Errorf("attaching iter/task_file: %w", err)
	}
	defer it.Close()
	rd, err := it.Open()
	if err != nil {
		return nil, fmt.Errorf("opening iter/task_file: %w", err)
	}
	defer rd.Close()
	out := map[uint64]PipeBuffer{}
	br := bufio.NewReader(rd)
	for {
		var rec pipePipeFill
		if err := binary.Read(br, binary.NativeEndian, &rec); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("reading iter/task_file: %w", err)
		}
		out[rec.Inode] = PipeBuffer{Inode: rec.Inode, Queued: rec.Queued, Capacity: rec.Capacity}
	}
}
