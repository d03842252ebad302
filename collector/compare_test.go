package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// TestCompareWithTools checks pipes against lsfd, Unix sockets against
// ss -xp and System V objects against lsipc, for the objects of this process
// and a child, read at the same moment (nothing moves while they are read).
func TestCompareWithTools(t *testing.T) {
	testutil.RequirePrivileged(t)
	for _, tool := range []string{"lsfd", "ss", "lsipc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (util-linux, iproute2: scripts/deps.sh installs them): %v", tool, err)
		}
	}
	var files []*os.File
	var pipes []uint64 // compared alone: a tool's run makes pipes of its own
	for i := range 3 { // pipes with 0, 10 and 20 bytes queued
		var p [2]int
		must(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
		t.Cleanup(func() { unix.Close(p[1]) })
		if i > 0 {
			_, err := unix.Write(p[1], make([]byte, 10*i))
			must(t, err)
		}
		pipes = append(pipes, ino(t, p[0]))
		files = append(files, os.NewFile(uintptr(p[0]), "pipe"))
	}
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		must(t, err)
		t.Cleanup(func() { unix.Close(fds[0]) })
		_, err = unix.Write(fds[0], []byte("twelve bytes"))
		must(t, err)
		files = append(files, os.NewFile(uintptr(fds[1]), "socket"))
	}
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(t, err)
	t.Cleanup(func() { unix.Close(lfd) })
	must(t, unix.Bind(lfd, &unix.SockaddrUnix{Name: fmt.Sprintf("@ipcwatch-compare-%d", os.Getpid())}))
	must(t, unix.Listen(lfd, 5))
	msqid, err := msgget()
	must(t, err)
	t.Cleanup(func() { msgRemove(msqid) })
	must(t, msgsnd(msqid, []byte("0123456789abcdef")))
	shmid, err := unix.SysvShmGet(unix.IPC_PRIVATE, 65536, unix.IPC_CREAT|0o600)
	must(t, err)
	t.Cleanup(func() { unix.SysvShmCtl(shmid, unix.IPC_RMID, nil) })
	semid, err := semget(4)
	must(t, err)
	t.Cleanup(func() { semRemove(semid) })

	kid := startChild(t, "shmat:"+strconv.Itoa(shmid), files, nil)
	for _, f := range files {
		f.Close()
	}
	pids := []int{os.Getpid(), kid.pid()}

	inv, err := New(Options{ReopenPipes: true}).Collect(context.Background())
	must(t, err)
	lsfdOut := run(t, "lsfd", "-J", "-p", fmt.Sprint(pids[0], " ", pids[1]), "-o", "PID,ASSOC,TYPE,INODE,MODE,NAME")
	ssOut := run(t, "ss", "-xapnH")
	lsipcQ := run(t, "lsipc", "-q", "-J", "-b", "-o", "ID,MSGS,USEDBYTES,LSPID")
	lsipcM := run(t, "lsipc", "-m", "-J", "-b", "-o", "ID,SIZE,NATTCH,CPID")
	lsipcS := run(t, "lsipc", "-s", "-J", "-o", "ID,NSEMS")

	ours := func(e Endpoint) bool { return slices.Contains(pids, e.PID) }

	// Pipes: every (pid, fd, inode, access) of the pipes made here.
	var want, got []string
	var lsfd struct {
		Lsfd []struct {
			PID   int    `json:"pid"`
			Assoc string `json:"assoc"`
			Type  string `json:"type"`
			Inode uint64 `json:"inode"`
			Mode  string `json:"mode"`
			Name  string `json:"name"`
		} `json:"lsfd"`
	}
	must(t, json.Unmarshal(lsfdOut, &lsfd))
	for _, r := range lsfd.Lsfd {
		if _, err := strconv.Atoi(r.Assoc); err != nil || !strings.HasPrefix(r.Name, "pipe:") || !slices.Contains(pipes, r.Inode) {
			continue
		}
		acc := strings.ReplaceAll(strings.TrimRight(r.Mode, "-"), "-", "")
		want = append(want, fmt.Sprintf("%d/%s/%d/%s", r.PID, r.Assoc, r.Inode, acc))
	}
	for _, o := range inv.Objects {
		if o.Type != TypePipe || !slices.Contains(pipes, o.ID) {
			continue
		}
		for _, e := range o.Endpoints {
			if ours(e) {
				got = append(got, fmt.Sprintf("%d/%d/%d/%s", e.PID, e.FD, o.ID, e.Access))
			}
		}
	}
	compareSets(t, "pipes (lsfd)", got, want)

	// Unix sockets: inode, queues, peer and holders, as ss -xp prints them.
	want, got = nil, nil
	for _, line := range strings.Split(string(ssOut), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.Contains(line, "users:") {
			continue
		}
		var holders []string
		for _, u := range strings.Split(f[len(f)-1], "),(") {
			var pid, fd int
			if i := strings.Index(u, "pid="); i >= 0 {
				fmt.Sscanf(u[i:], "pid=%d,fd=%d", &pid, &fd)
			}
			if slices.Contains(pids, pid) {
				holders = append(holders, fmt.Sprintf("%d/%d", pid, fd))
			}
		}
		if len(holders) == 0 {
			continue
		}
		slices.Sort(holders)
		// netid state recv-q send-q local port peer port users
		want = append(want, fmt.Sprintf("%s %s rq=%s sq=%s peer=%s %v", f[5], f[0], f[2], f[3], f[7], holders))
	}
	ssType := map[string]string{TypeUnixStream: "u_str", TypeUnixDgram: "u_dgr", TypeUnixSeqpacket: "u_seq"}
	for _, o := range inv.Objects {
		if ssType[o.Type] == "" || !slices.ContainsFunc(o.Endpoints, ours) {
			continue
		}
		var holders []string
		for _, e := range o.Endpoints {
			if ours(e) {
				holders = append(holders, fmt.Sprintf("%d/%d", e.PID, e.FD))
			}
		}
		slices.Sort(holders)
		a := o.Attributes
		rq, sq := a.RecvQueueBytes, a.SendQueueBytes
		if a.Backlog != nil {
			rq, sq = a.Backlog, a.BacklogLimit
		}
		peer := uint64(0)
		if o.Peer != nil {
			peer = *o.Peer
		}
		got = append(got, fmt.Sprintf("%d %s rq=%s sq=%s peer=%d %v", o.ID, ssType[o.Type], num(rq), num(sq), peer, holders))
	}
	compareSets(t, "unix sockets (ss -xp)", got, want)

	// System V: the three objects made here.
	var q, m, s map[string][]map[string]any
	must(t, json.Unmarshal(lsipcQ, &q))
	must(t, json.Unmarshal(lsipcM, &m))
	must(t, json.Unmarshal(lsipcS, &s))
	row := func(rows map[string][]map[string]any, id int) map[string]string {
		for _, list := range rows {
			for _, r := range list {
				if fmt.Sprint(r["id"]) == strconv.Itoa(id) {
					out := map[string]string{}
					for k, v := range r {
						out[k] = fmt.Sprint(v)
					}
					return out
				}
			}
		}
		t.Fatalf("lsipc does not list id %d", id)
		return nil
	}
	ns := ownNS("ipc")
	obj := func(typ string, id int) Attributes {
		for _, o := range inv.Objects {
			if o.Type == typ && o.ID == uint64(id) && o.Attributes.Namespace == ns {
				return o.Attributes
			}
		}
		t.Fatalf("no %s %d", typ, id)
		return Attributes{}
	}
	r, a := row(q, msqid), obj(TypeSysVMsg, msqid)
	compareSets(t, "sysv_msg (lsipc)", []string{num(a.Messages), num(a.QueuedBytes), num(a.LastSendPID)}, []string{r["msgs"], r["usedbytes"], r["lspid"]})
	r, a = row(m, shmid), obj(TypeSysVShm, shmid)
	compareSets(t, "sysv_shm (lsipc)", []string{num(a.SizeBytes), num(a.Attached), num(a.CreatorPID)}, []string{r["size"], r["nattch"], r["cpid"]})
	r, a = row(s, semid), obj(TypeSysVSem, semid)
	compareSets(t, "sysv_sem (lsipc)", []string{num(a.Semaphores)}, []string{r["nsems"]})
}

func num[T int | int32 | uint32 | uint64](p *T) string {
	if p == nil {
		return "unknown"
	}
	return fmt.Sprint(*p)
}

// run runs a tool with its output to a file rather than a pipe, so that the
// tool sees no pipe of this process that the inventory did not.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), name)
	must(t, err)
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout = f
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	out, err := os.ReadFile(f.Name())
	must(t, err)
	return out
}

func compareSets(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if len(want) == 0 {
		t.Errorf("%s: the tool reports nothing", what)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s differ:\nipcwatch: %q\ntool:     %q", what, got, want)
	}
}
