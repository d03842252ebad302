package exporter

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// sigRTMin is SIGRTMIN as programs see it: the C library keeps the kernel's
// first two real-time signals (32 and 33) for itself.
const sigRTMin = 34

// signalName names a signal number as people write it: SIGUSR1,
// SIGRTMIN+3; numbers without a name are SIG32.
func signalName(n int) string {
	switch {
	case n == sigRTMin:
		return "SIGRTMIN"
	case n > sigRTMin && n <= 64:
		return "SIGRTMIN+" + strconv.Itoa(n-sigRTMin)
	}
	if name := unix.SignalName(syscall.Signal(n)); name != "" {
		return name
	}
	return "SIG" + strconv.Itoa(n)
}
