package exporter

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// containerIDPattern matches the 64-hex-digit container ids that Docker,
// containerd, CRI-O and Podman put in cgroup paths: /docker/ID,
// /system.slice/docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
// libpod-ID.scope, /kubepods/.../ID.
var containerIDPattern = regexp.MustCompile(`(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?(?:/|$)`)

// parseContainerID returns the container id in a /proc/PID/cgroup file, ""
// for a process outside any container. The last id wins: a container
// nested in another is named by its own id.
func parseContainerID(r io.Reader) (string, error) {
	id := ""
	s := bufio.NewScanner(r)
	for s.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if m := containerIDPattern.FindAllStringSubmatch(parts[2], -1); m != nil {
			id = m[len(m)-1][1]
		}
	}
	return id, s.Err()
}

// containerIDs finds and remembers the container of each process. Processes
// that are gone keep the id they had when last seen.
type containerIDs struct {
	procRoot string
	byPID    map[uint32]string
}

func newContainerIDs(procRoot string) *containerIDs {
	return &containerIDs{procRoot: procRoot, byPID: map[uint32]string{}}
}

// lookup returns the container id of pid, "" for a host process or one
// that vanished before it was ever read.
func (c *containerIDs) lookup(pid uint32) string {
	if id, ok := c.byPID[pid]; ok {
		return id
	}
	f, err := os.Open(filepath.Join(c.procRoot, strconv.FormatUint(uint64(pid), 10), "cgroup"))
	if err != nil {
		return ""
	}
	defer f.Close()
	id, err := parseContainerID(f)
	if err != nil {
		return ""
	}
	c.byPID[pid] = id
	return id
}

// keep forgets the processes not in alive.
func (c *containerIDs) keep(alive map[uint32]bool) {
	for pid := range c.byPID {
		if !alive[pid] {
			delete(c.byPID, pid)
		}
	}
}
