package exporter

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLabelValidUTF8(t *testing.T) {
	for _, in := range []string{"nginx", "bad\xffname", "\xc3", "ok\u00e9"} {
		if got := label(in); !utf8.ValidString(got) {
			t.Errorf("label(%q) = %q, not valid UTF-8", in, got)
		}
	}
	if got := label("bad\xffname"); got != "bad\uFFFDname" {
		t.Errorf("label(bad\\xffname) = %q", got)
	}
}

func opSample(comm string, pid uint32, calls uint64) sample {
	return sample{dims: [2]string{"pipe", "write"}, pid: pid, id: identity{comm: comm}, values: counts{calls, 0, calls * 10}}
}

// TestProcessFolderBoundsAndMonotonic follows series through scrapes in
// which the most active names change: at most max names plus "other", and
// no counter ever goes down.
func TestProcessFolderBoundsAndMonotonic(t *testing.T) {
	f := newProcessFolder(2)
	scrapes := [][]sample{
		{opSample("a", 1, 100), opSample("b", 2, 50), opSample("c", 3, 10)},
		{opSample("a", 1, 100), opSample("b", 2, 60), opSample("c", 3, 1000)},
		// b exits; its pid is reused by d, whose counters start again.
		{opSample("a", 1, 100), opSample("d", 2, 5), opSample("c", 3, 5000)},
		{opSample("a", 1, 100), opSample("d", 2, 5000), opSample("c", 3, 9000)},
	}
	prev := map[string]uint64{}
	var total uint64
	for i, s := range scrapes {
		out := f.update(s)
		if len(out) > 3 {
			t.Fatalf("scrape %d: %d series, want at most 3 (2 names and other)", i, len(out))
		}
		var sum uint64
		for k, v := range out {
			if v[0] < prev[k.id.comm] {
				t.Errorf("scrape %d: %s went down from %d to %d", i, k.id.comm, prev[k.id.comm], v[0])
			}
			sum += v[0]
		}
		// Everything counted is somewhere, exactly once.
		switch i {
		case 0:
			total = 160
		case 1:
			total += 10 + 990
		case 2:
			total += 5 + 4000
		case 3:
			total += 4995 + 4000
		}
		if sum != total {
			t.Errorf("scrape %d: series sum to %d, want %d", i, sum, total)
		}
		prev = map[string]uint64{}
		for k, v := range out {
			prev[k.id.comm] = v[0]
		}
	}
	if _, ok := prev["c"]; !ok {
		t.Errorf("the most active name c is not kept: %v", prev)
	}
	if _, ok := prev["other"]; !ok {
		t.Errorf("no other series: %v", prev)
	}
}

func TestBoundObjects(t *testing.T) {
	in := []objectSeries{
		{[]string{"/a"}, []float64{1}},
		{[]string{"/b"}, []float64{5}},
		{[]string{"/a"}, []float64{10}}, // same name, other namespace
		{[]string{"/c"}, []float64{2}},
		{[]string{"/d"}, []float64{3}},
	}
	out := boundObjects(in, 2)
	var got []string
	for _, s := range out {
		got = append(got, s.labels[0]+"="+strconv.FormatFloat(s.values[0], 'g', -1, 64))
	}
	if want := "/a=11 /b=5 other=5"; strings.Join(got, " ") != want {
		t.Errorf("boundObjects = %v, want %s", got, want)
	}
	out = boundObjects([]objectSeries{{[]string{"other"}, []float64{9}}, {[]string{"/x"}, []float64{1}}, {[]string{"/y"}, []float64{1}}}, 1)
	if len(out) != 1 || out[0].values[0] != 11 {
		t.Errorf("an object named other does not take the folded ones in: %+v", out)
	}
}
