package top

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// press sends keys to the model; a string is typed rune by rune.
func press(m *Model, keys ...any) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			for _, r := range k {
				_, cmd = m.Update(runes(string(r)))
			}
		case tea.KeyType:
			_, cmd = m.Update(tea.KeyMsg{Type: k})
		}
	}
	return cmd
}

// loaded returns a model that has drawn the test samples.
func loaded(t *testing.T) *Model {
	t.Helper()
	m := NewModel(context.Background(), nil, Config{Interval: time.Second})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	prev, cur := testSamples()
	m.Update(sampleMsg{sample: prev})
	if _, cmd := m.Update(sampleMsg{sample: cur}); cmd == nil {
		t.Fatal("a sample armed no tick")
	}
	return m
}

// pids returns the PID column of the processes the screen shows.
func shownPIDs(m *Model) []string {
	var out []string
	for _, l := range strings.Split(m.View(), "\n")[headLines+1:] {
		f := strings.Fields(l)
		if len(f) > 2 && (f[1] == "writer" || f[1] == "reader" || f[1] == "server") {
			out = append(out, f[0])
		}
	}
	return out
}

func TestModelSortKeys(t *testing.T) {
	m := loaded(t)
	for _, c := range []struct {
		keys []any
		head string
		want string
	}{
		// CALLS/s descending; ties by PID.
		{nil, "CALLS/s▼", "100 200 300"},
		{[]any{">"}, "BYTES/s▼", "100 200 300"},
		{[]any{">"}, "ERR/s▼", "200 100 300"},
		{[]any{"<", "<", "<"}, "COMM▲", "200 300 100"},
		{[]any{"r"}, "COMM▼", "100 300 200"},
		{[]any{"<"}, "PID▲", "100 200 300"},
		{[]any{"<"}, "MECHANISMS▲", "100 200 300"},
	} {
		press(m, c.keys...)
		v := m.View()
		if !strings.Contains(v, c.head) {
			t.Errorf("after %v: header lacks %q:\n%s", c.keys, c.head, v)
		}
		if got := strings.Join(shownPIDs(m), " "); got != c.want {
			t.Errorf("after %v: rows %s, want %s", c.keys, got, c.want)
		}
	}
}

func TestModelFilter(t *testing.T) {
	m := loaded(t)
	press(m, "/", "SERV")
	if !m.editing || !strings.Contains(m.View(), "filter (name or pid") {
		t.Fatal("/ does not open the filter prompt")
	}
	// q while typing is text, not quit.
	if cmd := press(m, "q", tea.KeyBackspace, tea.KeyEnter); cmd != nil {
		t.Fatal("typing q in the filter quits")
	}
	if got := strings.Join(shownPIDs(m), " "); got != "300" {
		t.Errorf("filter SERV shows %s, want 300", got)
	}
	if !strings.Contains(m.View(), "filter: SERV") {
		t.Error("the footer does not show the filter")
	}
	press(m, "/", tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace, tea.KeyBackspace, "200", tea.KeyEnter)
	if got := strings.Join(shownPIDs(m), " "); got != "200" {
		t.Errorf("filter 200 shows %s, want the pid 200", got)
	}
	// The channels view filters on either end.
	press(m, "3")
	v := m.View()
	if !strings.Contains(v, "100/writer -> 200/reader") || strings.Contains(v, "/run/x.sock") {
		t.Errorf("channels filtered by 200:\n%s", v)
	}
	press(m, tea.KeyEsc, "1")
	if got := strings.Join(shownPIDs(m), " "); got != "100 200 300" {
		t.Errorf("esc leaves %s, want every process", got)
	}
	// Keys read at once come as one message.
	m.Update(runes("4/serv"))
	press(m, tea.KeyEnter)
	if m.CurrentView() != ViewSignals || m.filter.Text != "serv" {
		t.Errorf("keys read at once: view %v filter %q, want signals and serv", m.CurrentView(), m.filter.Text)
	}
	press(m, tea.KeyEsc, "1")
	press(m, "/", "x", tea.KeyEsc)
	if m.filter.Text != "" || m.editing {
		t.Errorf("esc while typing applied %q", m.filter.Text)
	}
}

func TestModelViews(t *testing.T) {
	m := loaded(t)
	for _, c := range []struct {
		keys []any
		view View
		want []string
	}{
		{[]any{"2"}, ViewMechanisms, []string{"MECHANISM", "pipe         all", "delivery"}},
		{[]any{"3"}, ViewChannels, []string{"WRITERS -> READERS", "100/writer -> 200/reader", "4.0K", "6.2%"}},
		{[]any{"4"}, ViewSignals, []string{"SIGUSR1", "100/writer", "pending signals", "10"}},
		{[]any{tea.KeyTab}, ViewProcesses, []string{"OBJECTS"}},
		{[]any{tea.KeyShiftTab}, ViewSignals, []string{"DELIVERED/s"}},
		{[]any{"h"}, ViewSignals, []string{"BLOCKED  time in IPC syscalls"}},
		{[]any{"1"}, ViewProcesses, []string{"100/s"}},
	} {
		press(m, c.keys...)
		if m.CurrentView() != c.view {
			t.Errorf("after %v: view %v, want %v", c.keys, m.CurrentView(), c.view)
		}
		v := m.View()
		for _, w := range c.want {
			if !strings.Contains(v, w) {
				t.Errorf("after %v: screen lacks %q:\n%s", c.keys, w, v)
			}
		}
	}
}

func TestModelPauseIntervalQuit(t *testing.T) {
	src, err := Open(Options{NoBPF: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := NewModel(context.Background(), src, Config{Interval: time.Second, Missing: src.Missing()})
	msg := m.Init()()
	if s, ok := msg.(sampleMsg); !ok || s.err != nil || s.sample.Inventory.Processes == 0 {
		t.Fatalf("first sample = %+v", msg)
	}
	m.Update(msg)
	if !strings.Contains(m.View(), "not seen: IPC activity") {
		t.Errorf("the screen does not say what is missing:\n%s", m.View())
	}
	press(m, " ")
	if !m.Paused() || !strings.Contains(m.View(), "PAUSED") {
		t.Fatal("space does not pause")
	}
	if _, cmd := m.Update(tickMsg{m.tick}); cmd != nil {
		t.Error("a tick samples while paused")
	}
	if cmd := press(m, " "); m.Paused() || cmd == nil {
		t.Error("space does not resume sampling")
	}
	m.sampling = false
	press(m, "+")
	if m.Interval() != 2*time.Second {
		t.Errorf("+ gives %v, want 2s", m.Interval())
	}
	stale := m.tick - 1
	if _, cmd := m.Update(tickMsg{stale}); cmd != nil {
		t.Error("a stale tick samples")
	}
	press(m, "-", "-", "-", "-", "-")
	if m.Interval() != Intervals[0] {
		t.Errorf("- stops at %v, want %v", m.Interval(), Intervals[0])
	}
	for _, k := range []tea.KeyMsg{runes("q"), {Type: tea.KeyCtrlC}} {
		_, cmd := m.Update(k)
		if cmd == nil {
			t.Fatalf("%s does not quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s does not quit", k)
		}
	}
}

func TestModelResize(t *testing.T) {
	m := loaded(t)
	for _, size := range []tea.WindowSizeMsg{{Width: 120, Height: 30}, {Width: 40, Height: 12}, {Width: 20, Height: 6}} {
		m.Update(size)
		lines := strings.Split(m.View(), "\n")
		if len(lines) != size.Height {
			t.Errorf("%dx%d: %d lines drawn", size.Width, size.Height, len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w > size.Width {
				t.Errorf("%dx%d: line %d is %d wide: %q", size.Width, size.Height, i, w, l)
			}
		}
		if !strings.HasPrefix(lines[len(lines)-1], "q quit") {
			t.Errorf("%dx%d: last line %q is not the footer", size.Width, size.Height, lines[len(lines)-1])
		}
	}
	// 6 lines leave room for one row: scrolling moves it, and stops at
	// the last row.
	if got := shownPIDs(m); len(got) != 1 || got[0] != "100" {
		t.Fatalf("one-row screen shows %v", got)
	}
	press(m, tea.KeyDown, tea.KeyDown, tea.KeyDown, tea.KeyDown)
	if got := shownPIDs(m); len(got) != 1 || got[0] != "300" {
		t.Errorf("scrolled to %v, want the last row 300", got)
	}
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if got := shownPIDs(m); len(got) != 3 {
		t.Errorf("growing the screen shows %v, want every row", got)
	}
}
