package collector

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// TestLiveNamespaces finds a Unix socket, a System V queue and a POSIX queue
// created by a child in network and IPC namespaces of its own, as a
// container would.
func TestLiveNamespaces(t *testing.T) {
	testutil.RequirePrivileged(t)
	me := os.Getpid()
	sock := fmt.Sprintf("@ipcwatch-ns-%d", me)
	mq := fmt.Sprintf("/ipcwatch-ns-%d", me)
	kid := startChild(t, "listen:"+sock+",msgq,mq:"+mq, nil,
		&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC})
	cp := kid.pid()
	dir := "/proc/" + strconv.Itoa(cp)
	netns, ipcns := readNS(dir, "net"), readNS(dir, "ipc")
	if netns == ownNS("net") || ipcns == ownNS("ipc") || netns == 0 || ipcns == 0 {
		t.Fatalf("child namespaces net %d ipc %d are not new", netns, ipcns)
	}
	msqid, _ := strconv.ParseUint(kid.report["msgq"], 10, 64)

	inv, err := New(Options{}).Collect(context.Background())
	must(t, err)

	o := findName(t, inv, TypeUnixStream, sock)
	if o.Attributes.Namespace != netns || o.Attributes.State != "listen" {
		t.Errorf("socket in the child's network namespace: %+v", o.Attributes)
	}
	if len(o.Endpoints) != 1 || o.Endpoints[0].PID != cp {
		t.Errorf("socket endpoints %+v, want the child %d", o.Endpoints, cp)
	}

	var found bool
	for _, o := range inv.Objects {
		if o.Type == TypeSysVMsg && o.ID == msqid && o.Attributes.Namespace == ipcns {
			found = true
			checkValue(t, o, "messages", o.Attributes.Messages, 1)
			checkValue(t, o, "bytes", o.Attributes.QueuedBytes, 9)
			checkValue(t, o, "last sender", o.Attributes.LastSendPID, cp)
		}
	}
	if !found {
		t.Errorf("no sysv_msg %d in ipc namespace %d", msqid, ipcns)
	}

	o = findName(t, inv, TypePosixMQ, mq)
	if o.Attributes.Namespace != ipcns || len(o.Endpoints) != 1 || o.Endpoints[0].PID != cp {
		t.Errorf("posix_mq in the child's ipc namespace: namespace %d, endpoints %+v", o.Attributes.Namespace, o.Endpoints)
	}
	checkValue(t, o, "messages", o.Attributes.Messages, 1)
	checkValue(t, o, "bytes", o.Attributes.QueuedBytes, 11)

	seen := false
	for _, s := range inv.SysV {
		seen = seen || (s.Namespace == ipcns && s.MsgQueues == 1 && s.MsgBytes == 9)
	}
	if !seen {
		t.Errorf("no System V usage for ipc namespace %d: %+v", ipcns, inv.SysV)
	}
}

// TestLiveSignals reads the ignored, caught and pending signals of a child:
// it ignores SIGHUP, and a SIGUSR1 sent while it is stopped stays pending.
func TestLiveSignals(t *testing.T) {
	testutil.RequirePrivileged(t)
	kid := startChild(t, "ignhup", nil, nil)
	cp := kid.pid()
	must(t, unix.Kill(cp, unix.SIGSTOP))
	t.Cleanup(func() { unix.Kill(cp, unix.SIGCONT) })
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cp))
		must(t, err)
		if _, rest, _ := strings.Cut(string(b), ") "); strings.HasPrefix(rest, "T") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child did not stop")
		}
		time.Sleep(time.Millisecond)
	}
	must(t, unix.Kill(cp, unix.SIGUSR1))

	inv, err := New(Options{Kinds: []string{KindSignal}}).Collect(context.Background())
	must(t, err)
	if len(inv.Objects) != 0 {
		t.Errorf("signal sets only, got %d objects", len(inv.Objects))
	}
	for _, s := range inv.Signals {
		if s.PID != cp {
			continue
		}
		bit := func(sig unix.Signal) uint64 { return 1 << (sig - 1) }
		if s.Pending != bit(unix.SIGUSR1) {
			t.Errorf("pending %#x, want SIGUSR1 %#x", s.Pending, bit(unix.SIGUSR1))
		}
		if s.Ignored&bit(unix.SIGHUP) == 0 {
			t.Errorf("ignored %#x lacks SIGHUP", s.Ignored)
		}
		if s.Caught&bit(unix.SIGUSR1) == 0 {
			t.Errorf("caught %#x lacks SIGUSR1, which the Go runtime handles", s.Caught)
		}
		return
	}
	t.Fatalf("no signal sets for the child %d", cp)
}

// TestInThreadLeavesMainThread checks that entering namespaces never moves
// this process's main thread, which /proc/PID/ns shows: every Collect here
// enters a private mount namespace for the mqueue mount.
func TestInThreadLeavesMainThread(t *testing.T) {
	testutil.RequirePrivileged(t)
	dir := "/proc/" + strconv.Itoa(os.Getpid())
	before := readNS(dir, "mnt")
	c := New(Options{Kinds: []string{TypePosixMQ}})
	for range 50 {
		if _, err := c.Collect(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := readNS(dir, "mnt"); got != before {
			t.Fatalf("the main thread moved to mount namespace %d from %d", got, before)
		}
	}
}
