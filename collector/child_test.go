package collector

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childEnv makes the test binary a child process holding IPC objects: it
// runs the comma-separated setup steps in it, prints "ready" and what the
// steps report, and waits for its stdin to close.
const childEnv = "IPCWATCH_COLLECTOR_CHILD"

func TestMain(m *testing.M) {
	if steps, ok := os.LookupEnv(childEnv); ok {
		os.Exit(runChild(steps))
	}
	os.Exit(m.Run())
}

func runChild(steps string) int {
	var report []string
	var cleanup []func()
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	for _, step := range strings.Split(steps, ",") {
		op, arg, _ := strings.Cut(step, ":")
		var err error
		switch op {
		case "":
		case "mmap": // map the inherited fd MAP_SHARED
			fd, _ := strconv.Atoi(arg)
			var st unix.Stat_t
			if err = unix.Fstat(fd, &st); err == nil {
				_, err = unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			}
		case "shmat":
			id, _ := strconv.Atoi(arg)
			_, err = unix.SysvShmAttach(id, 0, 0)
		case "collect": // an inventory, as whoever this child runs as
			var inv *Inventory
			if inv, err = New(Options{}).Collect(context.Background()); err == nil {
				report = append(report, fmt.Sprintf("processes=%d unreadable=%d missing=%d objects=%d",
					inv.Processes, inv.Unreadable, len(inv.Missing), len(inv.Objects)))
			}
		case "ignhup":
			signal.Ignore(syscall.SIGHUP)
		case "listen": // a Unix stream listener on an abstract name
			var l net.Listener
			if l, err = net.Listen("unix", arg); err == nil {
				cleanup = append(cleanup, func() { l.Close() })
			}
		case "msgq": // a System V queue holding one 9-byte message
			var id int
			if id, err = msgget(); err == nil {
				cleanup = append(cleanup, func() { msgRemove(id) })
				err = msgsnd(id, []byte("123456789"))
				report = append(report, "msgq="+strconv.Itoa(id))
			}
		case "mq": // a POSIX queue holding one 11-byte message
			var fd int
			if fd, err = mqOpen(arg, 4, 32); err == nil {
				cleanup = append(cleanup, func() { mqUnlinkName(arg) })
				err = mqSend(fd, []byte("hello world"))
			}
		default:
			err = fmt.Errorf("unknown step %q", step)
		}
		if err != nil {
			fmt.Printf("error %s: %v\n", step, err)
			return 1
		}
	}
	fmt.Println("ready", strings.Join(report, " "))
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// child is a running child process.
type child struct {
	cmd    *exec.Cmd
	report map[string]string
}

// startChild starts the test binary as a child running steps, with files as
// its fds 3, 4, ... It is stopped when the test ends.
func startChild(t *testing.T, steps string, files []*os.File, attr *syscall.SysProcAttr) *child {
	t.Helper()
	return startChildFrom(t, os.Args[0], steps, files, attr)
}

// startChildFrom starts a copy of the test binary at bin.
func startChildFrom(t *testing.T, bin, steps string, files []*os.File, attr *syscall.SysProcAttr) *child {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+steps)
	cmd.ExtraFiles = files
	cmd.SysProcAttr = attr
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("child: %q, %v", line, err)
	}
	c := &child{cmd: cmd, report: map[string]string{}}
	for _, f := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(f, "=")
		c.report[k] = v
	}
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// System V and POSIX mq calls golang.org/x/sys/unix does not wrap.

func msgget() (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, unix.IPC_CREAT|0o600, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(id), nil
}

func msgsnd(id int, text []byte) error {
	buf := make([]byte, 8+len(text))
	buf[0] = 1 // mtype
	copy(buf[8:], text)
	_, _, errno := unix.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(text)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func msgRemove(id int) {
	unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
}

func semget(n int) (int, error) {
	id, _, errno := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, uintptr(n), unix.IPC_CREAT|0o600)
	if errno != 0 {
		return 0, errno
	}
	return int(id), nil
}

func semRemove(id int) {
	unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID, 0, 0, 0)
}

// mqOpen creates a queue ("/name") and opens it read-write.
func mqOpen(name string, maxMsg, msgSize int64) (int, error) {
	p, err := unix.BytePtrFromString(strings.TrimPrefix(name, "/"))
	if err != nil {
		return 0, err
	}
	attr := [8]int64{0, maxMsg, msgSize}
	fd, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC,
		0o600, uintptr(unsafe.Pointer(&attr[0])), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(fd), nil
}

func mqSend(fd int, msg []byte) error {
	_, _, errno := unix.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(fd), uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func mqUnlinkName(name string) {
	p, _ := unix.BytePtrFromString(strings.TrimPrefix(name, "/"))
	unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
}
