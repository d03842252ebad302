package collector

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestSortObjects(t *testing.T) {
	// Every permutation of a few objects, with ties kept in input order.
	in := []Object{
		{Type: TypeMmap, ID: 1},
		{Type: TypePipe, ID: 9},
		{Type: TypeSignalfd, ID: 5, Endpoints: []Endpoint{{PID: 1}}},
		{Type: TypeUnixStream, ID: 3, Attributes: Attributes{Namespace: 2}},
		{Type: TypeSignalfd, ID: 5, Endpoints: []Endpoint{{PID: 2}}},
		{Type: TypeUnixStream, ID: 4, Attributes: Attributes{Namespace: 1}},
		{Type: TypePipe, ID: 2},
		{Type: TypePosixShm, ID: 2, Name: "b"},
		{Type: TypePosixShm, ID: 2, Name: "a"},
	}
	want := slices.Clone(in)
	slices.SortStableFunc(want, func(a, b Object) int {
		return cmp.Or(cmp.Compare(typeRank[a.Type], typeRank[b.Type]), cmp.Compare(a.Attributes.Namespace, b.Attributes.Namespace),
			cmp.Compare(a.ID, b.ID), cmp.Compare(a.Name, b.Name))
	})
	for seed := range 200 {
		objs := slices.Clone(in)
		r := rand.New(rand.NewPCG(uint64(seed), 0))
		r.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		exp := slices.Clone(objs)
		slices.SortStableFunc(exp, func(a, b Object) int {
			return cmp.Or(cmp.Compare(typeRank[a.Type], typeRank[b.Type]), cmp.Compare(a.Attributes.Namespace, b.Attributes.Namespace),
				cmp.Compare(a.ID, b.ID), cmp.Compare(a.Name, b.Name))
		})
		sortObjects(objs)
		if !reflect.DeepEqual(objs, exp) {
			t.Fatalf("seed %d: got %+v\nwant %+v", seed, objs, exp)
		}
	}
	sortObjects(in)
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("got %+v\nwant %+v", in, want)
	}
}
