package probes

import (
	"errors"

	"github.com/cilium/ebpf"
)

// batchSize is how many entries one batch lookup reads: a few syscalls read
// a whole map instead of two per entry.
const batchSize = 256

// readAll calls f with every key of m and its value, one per possible CPU
// for a per-CPU map (cpus is then ebpf.PossibleCPU(), else 1). It reads in
// batches where the kernel can (5.6+), one entry at a time elsewhere. f must
// not keep the slice it gets.
func readAll[K, V any](m *ebpf.Map, cpus int, f func(K, []V)) error {
	keys := make([]K, batchSize)
	vals := make([]V, batchSize*cpus)
	var cursor ebpf.MapBatchCursor
	for first := true; ; first = false {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		if first && errors.Is(err, ebpf.ErrNotSupported) {
			return iterateAll(m, cpus, f)
		}
		if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
		for i := range n {
			f(keys[i], vals[i*cpus:(i+1)*cpus])
		}
		if err != nil {
			return nil // ErrKeyNotExist: the end of the map
		}
	}
}

func iterateAll[K, V any](m *ebpf.Map, cpus int, f func(K, []V)) error {
	var key K
	it := m.Iterate()
	if cpus == 1 {
		v := make([]V, 1)
		for it.Next(&key, &v[0]) {
			f(key, v)
		}
	} else {
		var v []V
		for it.Next(&key, &v) {
			f(key, v)
		}
	}
	return it.Err()
}
