package collector

// sysvSemObjects adds the System V semaphore sets of one IPC namespace.
// Processes hold semaphores by id only, so a set has no endpoints.
func (b *build) sysvSemObjects(ns uint64, v *ipcView) {
	for _, s := range v.sems {
		o := Object{Type: TypeSysVSem, ID: uint64(s.ID), Name: sysvName(s.Key)}
		sysvAttrs(&o.Attributes, ns, s.Key, s.ID, s.UID, s.Mode)
		o.Attributes.Semaphores = ptr(s.NSems)
		b.inv.Objects = append(b.inv.Objects, o)
	}
}
