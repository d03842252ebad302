package top

import (
	"cmp"
	"slices"

	"github.com/ipcwatch/ipcwatch/collector"
)

// End is a process at one end of a channel.
type End struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"` // "" when only the pid is known (System V)
}

// Channel is one pipe, FIFO, Unix socket or message queue and how much is
// queued in it: the backpressure view. Writers put data in, readers take
// it out; a process that does both is in both lists.
type Channel struct {
	Type string `json:"type"`
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	// Queued is the bytes waiting to be read (for a socket: in its receive
	// queue); nil when unknown (pipes without BPF).
	Queued   *uint64 `json:"queued_bytes"`
	Capacity *uint64 `json:"capacity_bytes"`
	// Messages is the messages queued (message queues) or the connections
	// waiting to be accepted (a listening socket).
	Messages *uint64 `json:"messages"`
	Writers  []End   `json:"writers"`
	Readers  []End   `json:"readers"`
}

// channelTypes are the object types the channels view shows.
var channelTypes = []string{
	collector.TypePipe, collector.TypeFIFO, collector.TypeUnixStream, collector.TypeUnixDgram,
	collector.TypeUnixSeqpacket, collector.TypePosixMQ, collector.TypeSysVMsg,
}

func buildChannels(inv *collector.Inventory) []Channel {
	byID := map[uint64]*collector.Object{}
	comms := map[int]string{}
	for i := range inv.Objects {
		o := &inv.Objects[i]
		if o.Attributes.State != "" {
			byID[o.ID] = o
		}
		for _, e := range o.Endpoints {
			comms[e.PID] = e.Comm
		}
	}
	out := []Channel{}
	for _, o := range inv.Objects {
		if !slices.Contains(channelTypes, o.Type) {
			continue
		}
		a := o.Attributes
		c := Channel{Type: o.Type, ID: o.ID, Name: o.Name, Writers: []End{}, Readers: []End{}}
		switch o.Type {
		case collector.TypePipe, collector.TypeFIFO, collector.TypePosixMQ:
			c.Queued, c.Capacity, c.Messages = a.QueuedBytes, a.CapacityBytes, a.Messages
			if o.Type != collector.TypePosixMQ {
				c.Messages = nil
			}
			for _, e := range o.Endpoints {
				if e.Access == collector.AccessWrite || e.Access == collector.AccessReadWrite {
					c.Writers = addEnd(c.Writers, End{e.PID, e.Comm})
				}
				if e.Access == collector.AccessRead || e.Access == collector.AccessReadWrite {
					c.Readers = addEnd(c.Readers, End{e.PID, e.Comm})
				}
			}
		case collector.TypeSysVMsg:
			c.Queued, c.Capacity, c.Messages = a.QueuedBytes, a.CapacityBytes, a.Messages
			if a.LastSendPID != nil && *a.LastSendPID > 0 {
				c.Writers = addEnd(c.Writers, End{*a.LastSendPID, comms[*a.LastSendPID]})
			}
			if a.LastPID != nil && *a.LastPID > 0 {
				c.Readers = addEnd(c.Readers, End{*a.LastPID, comms[*a.LastPID]})
			}
		default: // Unix sockets
			if a.Backlog != nil {
				c.Messages = a.Backlog
			} else {
				c.Queued = a.RecvQueueBytes
			}
			for _, e := range o.Endpoints {
				c.Readers = addEnd(c.Readers, End{e.PID, e.Comm})
			}
			if o.Peer != nil {
				if p := byID[*o.Peer]; p != nil {
					for _, e := range p.Endpoints {
						c.Writers = addEnd(c.Writers, End{e.PID, e.Comm})
					}
					if c.Name == "" {
						c.Name = p.Name
					}
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// addEnd adds e once, keeping the list sorted by pid.
func addEnd(ends []End, e End) []End {
	i, found := slices.BinarySearchFunc(ends, e.PID, func(x End, pid int) int { return cmp.Compare(x.PID, pid) })
	if found {
		return ends
	}
	return slices.Insert(ends, i, e)
}
