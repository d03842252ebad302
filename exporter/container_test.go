package exporter

import (
	"strings"
	"testing"
)

func TestParseContainerID(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, c := range []struct{ name, in, want string }{
		{"host", "0::/user.slice/user-0.slice/session-1.scope\n", ""},
		{"docker cgroup v2", "0::/system.slice/docker-" + id + ".scope\n", id},
		{"docker cgroup v1", "12:memory:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n", id},
		{"containerd", "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + id + ".scope\n", id},
		{"crio", "0::/kubepods/burstable/pod1/crio-" + id + ".scope\n", id},
		{"kubepods v1", "3:cpu:/kubepods/besteffort/pod1/" + id + "\n", id},
		{"too short", "0::/docker/0123456789abcdef\n", ""},
		{"garbage", "no colons here\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseContainerID(strings.NewReader(c.in))
			if err != nil || got != c.want {
				t.Errorf("parseContainerID = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func FuzzParseContainerID(f *testing.F) {
	f.Add("0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n")
	f.Add("12:memory:/docker/x\n")
	f.Fuzz(func(t *testing.T, in string) {
		id, err := parseContainerID(strings.NewReader(in))
		if err == nil && id != "" && len(id) != 64 {
			t.Errorf("id %q is not 64 hex digits", id)
		}
	})
}
