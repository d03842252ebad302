package probes

import (
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() { workloads["sigwait"] = sigwaitWork }

// The signals of the sigwait workload: one taken with rt_sigtimedwait, one
// read from a signalfd.
const (
	sigWaited = unix.SIGUSR2
	sigFD     = unix.Signal(40)
)

// sigwaitWork blocks sigWaited and sigFD on its thread, sends each to the
// thread opsN times with tgkill, and takes each sigWaited at once with
// rt_sigtimedwait and each sigFD with a read of a signalfd.
func sigwaitWork() error {
	runtime.LockOSThread()
	var set unix.Sigset_t
	set.Val[0] = 1<<(sigWaited-1) | 1<<(sigFD-1)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		return err
	}
	pid, tid := unix.Getpid(), unix.Gettid()
	var waited unix.Sigset_t
	waited.Val[0] = 1 << (sigWaited - 1)
	for range opsN {
		if err := unix.Tgkill(pid, tid, sigWaited); err != nil {
			return err
		}
		sig, _, e := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&waited)), 0, 0, 8, 0, 0)
		if e != 0 || sig != uintptr(sigWaited) {
			return e
		}
	}
	var fdSet unix.Sigset_t
	fdSet.Val[0] = 1 << (sigFD - 1)
	fd, err := unix.Signalfd(-1, &fdSet, unix.SFD_CLOEXEC)
	if err != nil {
		return err
	}
	buf := make([]byte, 128)
	for range opsN {
		if err := unix.Tgkill(pid, tid, sigFD); err != nil {
			return err
		}
		if n, err := unix.Read(fd, buf); err != nil || n != 128 {
			return err
		}
	}
	return nil
}

// TestSignalsTakenSynchronously checks that signals taken with
// rt_sigtimedwait or read from a signalfd count as delivered, with their
// latency, though signal_deliver never fires for them.
func TestSignalsTakenSynchronously(t *testing.T) {
	for _, hook := range []Hook{HookRaw, HookSyscallTracepoints} {
		t.Run(string(hook), func(t *testing.T) {
			p := load(t, Options{Hook: hook, Groups: []Group{GroupData, GroupSignal}})
			before := map[int]uint64{}
			for _, sig := range []int{int(sigWaited), int(sigFD)} {
				before[sig] = signalLatencyCount(t, p, sig)
			}
			pid := runWorkload(t, "sigwait")
			s, err := p.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			for _, sig := range []int{int(sigWaited), int(sigFD)} {
				var got SignalCount
				for _, sc := range s.Signals {
					if sc.Signal == sig && sc.SenderPID == pid && sc.ReceiverPID == pid {
						got = sc
					}
				}
				if got.Generated != opsN || got.Delivered != opsN {
					t.Errorf("signal %d: generated %d, delivered %d, want %d", sig, got.Generated, got.Delivered, opsN)
				}
				if n := signalLatencyCount(t, p, sig) - before[sig]; n != opsN {
					t.Errorf("signal %d: delivery latency histogram grew by %d, want %d", sig, n, opsN)
				}
			}
			for op, w := range map[string]want{"tgkill": {2 * opsN, 0}, "rt_sigtimedwait": {opsN, 0}, "read": {opsN, opsN * 128}} {
				if c := s.Counters(MechSignal, op, pid); (want{c.Calls, c.Bytes}) != w || c.Errors != 0 {
					t.Errorf("signal/%s: calls,bytes %v, %d errors, want %v", op, want{c.Calls, c.Bytes}, c.Errors, w)
				}
			}
		})
	}
}
