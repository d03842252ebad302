package top

import (
	"context"
	"fmt"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/ipcwatch/ipcwatch/collector"
)

// Sampler takes samples; *Source is one.
type Sampler interface {
	Sample(ctx context.Context) (*Sample, error)
}

// Intervals are the steps of the + and - keys.
var Intervals = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
	3 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// Config is how the interactive view starts.
type Config struct {
	Interval time.Duration
	View     View
	Filter   Filter
	// Missing is what the source cannot see, shown under the title.
	Missing []collector.Missing
}

// Model is the state of the interactive view (a bubbletea model).
type Model struct {
	ctx     context.Context
	src     Sampler
	missing []collector.Missing

	prev     *Sample
	frame    *Frame
	err      error // of the last sample
	sampling bool
	tick     int // the only tick that samples; older ones are stale

	view     View
	sorts    [viewCount]Sort
	filter   Filter
	editing  bool
	input    string // the filter being typed
	paused   bool
	interval time.Duration
	help     bool
	width    int
	height   int
	offset   int // first row shown
}

// NewModel returns the model of the interactive view.
func NewModel(ctx context.Context, src Sampler, cfg Config) *Model {
	m := &Model{ctx: ctx, src: src, missing: cfg.Missing, view: cfg.View, filter: cfg.Filter,
		interval: cfg.Interval, width: 80, height: 24}
	if m.interval <= 0 {
		m.interval = time.Second
	}
	for v := range viewCount {
		m.sorts[v] = DefaultSort(v)
	}
	return m
}

type sampleMsg struct {
	sample *Sample
	err    error
}

type tickMsg struct{ id int }

// Init takes the first sample.
func (m *Model) Init() tea.Cmd { return m.sample() }

func (m *Model) sample() tea.Cmd {
	if m.sampling || m.src == nil {
		return nil
	}
	m.sampling = true
	ctx, src := m.ctx, m.src
	return func() tea.Msg {
		s, err := src.Sample(ctx)
		return sampleMsg{s, err}
	}
}

// schedule arms the next tick; any tick armed before is now stale.
func (m *Model) schedule() tea.Cmd {
	m.tick++
	id := m.tick
	return tea.Tick(m.interval, func(time.Time) tea.Msg { return tickMsg{id} })
}

// Update handles keys, resizes, ticks and samples.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.clampOffset()
	case sampleMsg:
		m.sampling = false
		m.err = msg.err
		if msg.err == nil {
			m.frame = BuildFrame(m.prev, msg.sample)
			m.prev = msg.sample
			m.clampOffset()
		}
		return m, m.schedule()
	case tickMsg:
		if msg.id != m.tick || m.paused {
			return m, nil
		}
		return m, m.sample()
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

// key handles one key press.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	if k.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	// Keys typed faster than they are read come as one message.
	if k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste {
		var cmds []tea.Cmd
		for _, r := range k.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: k.Alt}))
		}
		return tea.Batch(cmds...)
	}
	if m.editing {
		m.editKey(k)
		return nil
	}
	switch k.String() {
	case "q":
		return tea.Quit
	case "1", "2", "3", "4":
		m.setView(View(k.Runes[0] - '1'))
	case "tab":
		m.setView((m.view + 1) % viewCount)
	case "shift+tab":
		m.setView((m.view + viewCount - 1) % viewCount)
	case "<", ",":
		m.moveSort(-1)
	case ">", ".":
		m.moveSort(1)
	case "r":
		m.sorts[m.view].Reverse = !m.sorts[m.view].Reverse
	case "/":
		m.editing, m.input = true, m.filter.Text
	case "esc":
		m.filter.Text = ""
		m.offset = 0
	case " ", "p":
		m.paused = !m.paused
		if !m.paused {
			return m.sample()
		}
	case "+", "=":
		return m.stepInterval(1)
	case "-", "_":
		return m.stepInterval(-1)
	case "h", "?":
		m.help = !m.help
	case "down", "j":
		m.scroll(1)
	case "up", "k":
		m.scroll(-1)
	case "pgdown", "ctrl+f":
		m.scroll(m.tableRows())
	case "pgup", "ctrl+b":
		m.scroll(-m.tableRows())
	case "home", "g":
		m.offset = 0
	}
	return nil
}

func (m *Model) editKey(k tea.KeyMsg) {
	switch k.Type {
	case tea.KeyEnter:
		m.filter.Text, m.editing, m.offset = m.input, false, 0
	case tea.KeyEsc:
		m.editing = false
	case tea.KeyBackspace:
		if r := []rune(m.input); len(r) > 0 {
			m.input = string(r[:len(r)-1])
		}
	case tea.KeyRunes, tea.KeySpace:
		m.input += string(k.Runes)
	}
}

func (m *Model) setView(v View) {
	if v != m.view {
		m.view, m.offset = v, 0
	}
	m.help = false
}

func (m *Model) moveSort(d int) {
	n := len(Columns(m.view))
	s := &m.sorts[m.view]
	s.Column = (s.Column + d + n) % n
	s.Reverse = false
}

func (m *Model) stepInterval(d int) tea.Cmd {
	i, found := slices.BinarySearch(Intervals, m.interval)
	switch {
	case d > 0 && found:
		i++
	case d < 0:
		i--
	}
	m.interval = Intervals[min(max(i, 0), len(Intervals)-1)]
	if m.paused || m.sampling {
		return nil
	}
	return m.schedule()
}

func (m *Model) scroll(d int) {
	m.offset += d
	m.clampOffset()
}

// clampOffset keeps the last page full.
func (m *Model) clampOffset() {
	n := 0
	if m.frame != nil {
		n = len(m.frame.Table(m.view, m.sorts[m.view], m.filter).Rows)
	}
	m.offset = min(m.offset, n-m.tableRows())
	m.offset = max(m.offset, 0)
}

// Interval is the current interval between samples.
func (m *Model) Interval() time.Duration { return m.interval }

// CurrentView is the view shown.
func (m *Model) CurrentView() View { return m.view }

// Paused tells whether sampling is paused.
func (m *Model) Paused() bool { return m.paused }

// Run runs the interactive view on the terminal until q, Ctrl-C or ctx is
// done; the terminal is restored in every case, also on error and panic.
// Signals are the caller's: cancel ctx on SIGINT and SIGTERM.
func Run(ctx context.Context, src Sampler, cfg Config, opts ...tea.ProgramOption) error {
	m := NewModel(ctx, src, cfg)
	opts = append([]tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithoutSignalHandler()}, opts...)
	_, err := tea.NewProgram(m, opts...).Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("running the terminal view: %w", err)
	}
	return nil
}
