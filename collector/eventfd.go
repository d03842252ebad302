package collector

// eventfdsAndSignalfds finds eventfd and signalfd holders from the
// "anon_inode:[eventfd]" and "anon_inode:[signalfd]" fd links and their
// fdinfo. An eventfd is identified by its eventfd-id (Linux 6.0+), shared
// by every process holding it; without one, and for signalfd, whose fdinfo
// has no id, each descriptor is its own object with the anon inode as id.
func (b *build) eventfdsAndSignalfds() {
	ids := map[uint64]*Object{}
	var order []uint64
	for _, p := range b.procs {
		for _, e := range p.FDs {
			if e.Info == nil {
				continue
			}
			ep := endpoint(p, e.FD, e.Access)
			switch e.Kind {
			case fdEventfd:
				if id := e.Info.EventfdID; id != nil {
					o := ids[*id]
					if o == nil {
						o = &Object{Type: TypeEventfd, ID: *id}
						o.Attributes.EventfdCount = e.Info.EventfdCount
						ids[*id] = o
						order = append(order, *id)
					}
					o.Endpoints = append(o.Endpoints, ep)
					continue
				}
				o := Object{Type: TypeEventfd, ID: e.Info.Ino, Endpoints: []Endpoint{ep}}
				o.Attributes.EventfdCount = e.Info.EventfdCount
				b.inv.Objects = append(b.inv.Objects, o)
			case fdSignalfd:
				o := Object{Type: TypeSignalfd, ID: e.Info.Ino, Endpoints: []Endpoint{ep}}
				o.Attributes.SignalMask = e.Info.SigMask
				b.inv.Objects = append(b.inv.Objects, o)
			}
		}
	}
	for _, id := range order {
		b.inv.Objects = append(b.inv.Objects, *ids[id])
	}
}
