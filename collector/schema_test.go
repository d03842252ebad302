package collector

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ipcwatch/ipcwatch/internal/testutil"
)

// schemaObjects has one object of every type, some values unknown.
func schemaObjects() []Object {
	rw := []Endpoint{{PID: 10, Comm: "writer", FD: 4, Access: AccessWrite}, {PID: 11, Comm: "reader", FD: 3, Access: AccessRead}}
	mapped := []Endpoint{{PID: 10, Comm: "a", FD: NoFD, Access: AccessReadWrite}, {PID: 11, Comm: "b", FD: NoFD, Access: AccessRead}}
	return []Object{
		{Type: TypePipe, ID: 1001, Endpoints: rw},
		{Type: TypeFIFO, ID: 1002, Name: "/run/app.fifo", Attributes: Attributes{QueuedBytes: ptr[uint64](7), CapacityBytes: ptr[uint64](65536)}, Endpoints: rw},
		{Type: TypeUnixStream, ID: 1003, Name: "/run/app.sock", Attributes: Attributes{State: "listen", Backlog: ptr[uint64](2), BacklogLimit: ptr[uint64](128), Namespace: 4026531840}, Endpoints: rw[:1]},
		{Type: TypeUnixDgram, ID: 1004, Name: "@app", Peer: ptr[uint64](1005), Attributes: Attributes{State: "established", Abstract: true, RecvQueueBytes: ptr[uint64](0), SendQueueBytes: ptr[uint64](768), Namespace: 4026531840}},
		{Type: TypeUnixSeqpacket, ID: 1005, Peer: ptr[uint64](1004), Attributes: Attributes{State: "established", RecvQueueBytes: ptr[uint64](12), SendQueueBytes: ptr[uint64](0), Namespace: 4026531840}},
		{Type: TypePosixMQ, ID: 1006, Name: "/jobs", Attributes: Attributes{Messages: ptr[uint64](2), MaxMessages: ptr[uint64](10), MessageSize: ptr[uint64](8192), QueuedBytes: ptr[uint64](40), NotifyPID: ptr(0), Owner: ptr[uint32](0), Mode: ptr[uint32](0o600), Namespace: 4026531839}, Endpoints: rw},
		{Type: TypeSysVMsg, ID: 7, Name: "0x0000abcd", Attributes: Attributes{Key: ptr[int32](0xabcd), SysVID: ptr(7), Messages: ptr[uint64](1), QueuedBytes: ptr[uint64](5), CapacityBytes: ptr[uint64](16384), Owner: ptr[uint32](1000), Mode: ptr[uint32](0o644), LastSendPID: ptr(10), LastPID: ptr(0), Namespace: 4026531839}},
		{Type: TypeSysVShm, ID: 8, Attributes: Attributes{Key: ptr[int32](0), SysVID: ptr(8), SizeBytes: ptr[uint64](4096), Attached: ptr[uint64](2), Owner: ptr[uint32](0), Mode: ptr[uint32](0o600), CreatorPID: ptr(10), LastPID: ptr(11), Namespace: 4026531839}, Endpoints: mapped},
		{Type: TypeSysVSem, ID: 9, Name: "0x00001234", Attributes: Attributes{Key: ptr[int32](0x1234), SysVID: ptr(9), Semaphores: ptr[uint64](3), Owner: ptr[uint32](0), Mode: ptr[uint32](0o666), Namespace: 4026531839}},
		{Type: TypePosixShm, ID: 1010, Name: "/dev/shm/cache", Attributes: Attributes{Kind: "shm", SizeBytes: ptr[uint64](1 << 20), Namespace: 4026531841}, Endpoints: mapped},
		{Type: TypePosixShm, ID: 1011, Name: "memfd:ring", Attributes: Attributes{Kind: "memfd", Deleted: true}, Endpoints: rw},
		{Type: TypeEventfd, ID: 3, Attributes: Attributes{EventfdCount: ptr[uint64](1)}, Endpoints: rw},
		{Type: TypeSignalfd, ID: 1038, Attributes: Attributes{SignalMask: ptr[uint64](0x4002)}, Endpoints: rw[:1]},
		{Type: TypeMmap, ID: 1012, Name: "/var/lib/app/data", Attributes: Attributes{SizeBytes: ptr[uint64](8192), Attached: ptr[uint64](2)}, Endpoints: mapped},
	}
}

func TestSchemaGolden(t *testing.T) {
	objs := schemaObjects()
	var types []string
	for _, o := range objs {
		types = append(types, o.Type)
	}
	for _, typ := range Types {
		if !slices.Contains(types, typ) {
			t.Errorf("type %s has no object in the schema test", typ)
		}
	}
	got, err := json.MarshalIndent(objs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "schema.golden.json", append(got, '\n'))
}

func TestSchemaStable(t *testing.T) {
	for _, o := range schemaObjects() {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"type", "id", "name", "attributes", "peer", "endpoints"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no key %q", o.Type, k)
			}
		}
		var attrs map[string]json.RawMessage
		json.Unmarshal(m["attributes"], &attrs)
		keys := AttributeKeys(o.Type)
		if len(attrs) != len(keys) {
			t.Errorf("%s: attributes %d keys, schema %d", o.Type, len(attrs), len(keys))
		}
		// Unknown stays unknown: null, never 0.
		if o.Type == TypePipe && (string(attrs["queued_bytes"]) != "null" || string(attrs["capacity_bytes"]) != "null") {
			t.Errorf("pipe with unknown fill: %s", m["attributes"])
		}
		var back Object
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Type != o.Type || back.ID != o.ID || len(back.Endpoints) != len(o.Endpoints) {
			t.Errorf("%s: round trip gave %+v", o.Type, back)
		}
		for i, e := range back.Endpoints {
			if e != o.Endpoints[i] {
				t.Errorf("%s: endpoint %d round trip gave %+v, want %+v", o.Type, i, e, o.Endpoints[i])
			}
		}
	}
}
