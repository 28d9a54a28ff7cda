// The live page: last minute of 1 s samples, redrawn every second. Every name and label goes into
// the DOM through textContent, never as HTML.
(() => {
  const WINDOW_S = 60;
  const state = { containers: [], selected: null, filter: '', ticks: 0 };
  const $ = (id) => document.getElementById(id);

  const fmtBytes = (v) => {
    if (v == null) return '';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
  };
  const bytesAxis = { values: (_u, ticks) => ticks.map(fmtBytes), size: 70 };
  const rateAxis = { values: (_u, ticks) => ticks.map((t) => `${fmtBytes(t)}/s`), size: 80 };

  function makeChart(parent, title, series, axis) {
    const box = document.createElement('div');
    box.className = 'chart';
    const h = document.createElement('h3');
    h.textContent = title;
    box.appendChild(h);
    parent.appendChild(box);
    const opts = {
      width: 420,
      height: 170,
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, dash: s.dash }))],
      axes: [{}, { ...(axis || {}) }],
      scales: { x: { time: true } },
      legend: { live: false },
    };
    const empty = [[], ...series.map(() => [])];
    const plot = new uPlot(opts, empty, box);
    return { plot, box };
  }

  function chartSet(parent, withLimits) {
    parent.textContent = '';
    return {
      cpu: makeChart(parent, withLimits ? 'CPU (cores; dashed: limit)' : 'CPU (cores)', [
        { label: 'cores', color: '#1f77b4' },
        ...(withLimits ? [{ label: 'limit', color: '#d62728', dash: [4, 4] }] : []),
      ]),
      cpuPct: withLimits ? makeChart(parent, 'CPU (% of limit)', [{ label: '% of limit', color: '#9467bd' }]) : null,
      mem: makeChart(
        parent,
        'Memory (working set, usage; dashed: limit)',
        [
          { label: 'working set', color: '#2ca02c' },
          { label: 'usage', color: '#98df8a' },
          { label: 'limit', color: '#d62728', dash: [4, 4] },
        ],
        bytesAxis,
      ),
      net: makeChart(
        parent,
        'Network',
        [
          { label: 'rx', color: '#ff7f0e' },
          { label: 'tx', color: '#8c564b' },
        ],
        rateAxis,
      ),
      io: withLimits
        ? makeChart(
            parent,
            'Block IO',
            [
              { label: 'read', color: '#17becf' },
              { label: 'write', color: '#bcbd22' },
            ],
            rateAxis,
          )
        : null,
    };
  }

  const nodeCharts = chartSet($('node-charts'), false);
  let containerCharts = null;

  function draw(charts, points, limits) {
    const t = points.map((p) => p.t);
    const cores = points.map((p) => p.cpuCores);
    if (charts.cpuPct) {
      const lim = limits.cpuLimitCores;
      charts.cpu.plot.setData([t, cores, t.map(() => lim ?? null)]);
      charts.cpuPct.plot.setData([t, cores.map((c) => (lim ? (100 * c) / lim : null))]);
    } else {
      charts.cpu.plot.setData([t, cores]);
    }
    const memLimit = limits.memoryLimitBytes || null;
    charts.mem.plot.setData([
      t,
      points.map((p) => p.memoryWorkingSetBytes),
      points.map((p) => p.memoryUsageBytes),
      t.map(() => memLimit),
    ]);
    charts.net.plot.setData([t, points.map((p) => p.netRxBytesPerSecond), points.map((p) => p.netTxBytesPerSecond)]);
    if (charts.io) {
      charts.io.plot.setData([
        t,
        points.map((p) => p.ioReadBytesPerSecond),
        points.map((p) => p.ioWriteBytesPerSecond),
      ]);
    }
  }

  function matches(c, q) {
    if (!q) return true;
    const hay = [c.name, c.image, c.id, ...Object.entries(c.labels).map(([k, v]) => `${k}=${v}`)]
      .join(' ')
      .toLowerCase();
    return hay.includes(q);
  }

  function renderList() {
    const rows = $('rows');
    rows.textContent = '';
    const q = state.filter.trim().toLowerCase();
    for (const c of state.containers) {
      if (!matches(c, q)) continue;
      const tr = document.createElement('tr');
      tr.dataset.key = c.key;
      if (c.key === state.selected) tr.className = 'sel';
      const name = document.createElement('td');
      name.className = 'name';
      name.textContent = c.name || c.id;
      name.title = `${c.name}\n${c.image}`;
      const cpu = document.createElement('td');
      cpu.textContent = c.latest ? `${c.latest.cpuCores.toFixed(2)} cores` : '';
      const mem = document.createElement('td');
      mem.textContent = c.latest ? fmtBytes(c.latest.memoryWorkingSetBytes) : '';
      tr.append(name, cpu, mem);
      tr.addEventListener('click', () => select(c.key));
      rows.appendChild(tr);
    }
  }

  function select(key) {
    state.selected = key;
    const c = state.containers.find((x) => x.key === key);
    $('selected-name').textContent = c ? `${c.name} (${c.image})` : '(none selected)';
    containerCharts = c ? chartSet($('container-charts'), true) : null;
    renderList();
    void refresh();
  }

  async function refresh() {
    const since = Date.now() / 1000 - WINDOW_S;
    const [list, stats] = await Promise.all([
      fetch('api/v1/containers').then((r) => r.json()),
      fetch(`api/v1/stats?since=${since}${state.selected ? `&key=${encodeURIComponent(state.selected)}` : ''}`).then(
        (r) => r.json(),
      ),
    ]);
    state.containers = list.containers;
    $('summary').textContent = `${list.containers.length} containers`;
    if (state.selected && !list.containers.some((c) => c.key === state.selected)) select(null);
    if (!state.selected && list.containers.length) {
      select(list.containers[0].key);
      return;
    }
    renderList();
    if (stats.node) draw(nodeCharts, stats.node.points, { memoryLimitBytes: stats.node.memoryBytes });
    const sel = state.selected && stats.containers[state.selected];
    if (sel && containerCharts) draw(containerCharts, sel.points, sel.limits);
    state.ticks++;
    $('ticks').textContent = `updates: ${state.ticks}`;
    document.body.dataset.ticks = String(state.ticks);
  }

  $('search').addEventListener('input', (e) => {
    state.filter = e.target.value;
    renderList();
  });
  const loop = () =>
    refresh()
      .catch((err) => console.warn('refresh failed', err))
      .finally(() => setTimeout(loop, 1000));
  loop();
})();
