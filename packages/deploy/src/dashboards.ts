/**
 * Dashboards as code: one definition per dashboard, from which come a Grafana dashboard with
 * Prometheus queries, the same with CloudWatch queries, and a CloudWatch dashboard body for
 * PutDashboard. Every metric is named through the catalog (a typo throws); panel ids and refIds are
 * fixed in the definition, so the JSON is stable from build to build. Grafana's JSON model is typed
 * locally (the fields used here, from Grafana's "Dashboard JSON model", schemaVersion 39).
 */
import { labelName } from '@windsock/metrics';
import { CADVISOR_METRICS, metric, promName } from './catalog.ts';

type Stat = 'Sum' | 'Maximum' | 'Minimum' | 'Average' | 'p99';

/** A query on a Windsock metric, grouped by some of its dimensions. */
interface MetricQuery {
  refId: string;
  metric: string;
  stat: Stat;
  by: string[];
  filter?: Record<string, string>;
  legend?: string;
}
/** A Prometheus-only query (cAdvisor's families from container-stats). */
interface PromQuery {
  refId: string;
  expr: string;
  /** The families the expression uses (checked against what container-stats serves). */
  uses: string[];
  legend?: string;
}
interface PanelDef {
  id: number;
  title: string;
  description: string;
  unit: string;
  type?: 'timeseries' | 'stat';
  queries: Array<MetricQuery | PromQuery>;
}
export interface DashboardDef {
  uid: string;
  title: string;
  panels: PanelDef[];
}

const q = (
  refId: string,
  m: string,
  stat: Stat,
  by: string[] = [],
  legend?: string,
  filter?: Record<string, string>,
) => ({
  refId,
  metric: m,
  stat,
  by,
  ...(legend ? { legend } : {}),
  ...(filter ? { filter } : {}),
});

export const DASHBOARDS: readonly DashboardDef[] = [
  {
    uid: 'windsock-cluster',
    title: 'Windsock: cluster overview',
    panels: [
      {
        id: 1,
        title: 'Tasks by queue and state',
        description: 'Task instances per Celery queue and state (queue-depth).',
        unit: 'short',
        queries: [q('A', 'TaskInstances', 'Maximum', ['Queue', 'State'], '{{queue}} {{state}}')],
      },
      {
        id: 2,
        title: 'Oldest queued task age',
        description: 'Seconds the oldest queued task has waited, per queue.',
        unit: 's',
        queries: [q('A', 'OldestQueuedTaskAgeSeconds', 'Maximum', ['Queue'], '{{queue}}')],
      },
      {
        id: 3,
        title: 'Workers: desired vs running',
        description: 'What queue-depth and the scaler want, and what runs; scaling actions as bars.',
        unit: 'short',
        queries: [
          q('A', 'DesiredWorkers', 'Maximum', ['WorkerPool'], 'desired {{worker_pool}}'),
          q('B', 'WorkerPoolRunningCount', 'Maximum', ['WorkerPool'], 'running {{worker_pool}}'),
          q('C', 'ScalingActions', 'Sum', ['WorkerPool', 'Direction'], 'scale {{direction}} {{worker_pool}}'),
        ],
      },
      {
        id: 4,
        title: 'Task outcomes',
        description: 'Task instances finished, per state (scheduler log).',
        unit: 'short',
        queries: [q('A', 'TaskInstancesFinished', 'Sum', ['State'], '{{state}}')],
      },
      {
        id: 5,
        title: 'Errors and tracebacks',
        description: 'ERROR/CRITICAL records and Python tracebacks per component.',
        unit: 'short',
        queries: [
          q('A', 'LogErrors', 'Sum', ['Component'], 'errors {{component}}'),
          q('B', 'Tracebacks', 'Sum', ['Component'], 'tracebacks {{component}}'),
        ],
      },
      {
        id: 6,
        title: 'Heartbeat successes',
        description: 'Heartbeat DAG success tokens: none for two intervals fires heartbeat-missing.',
        unit: 'short',
        queries: [q('A', 'HeartbeatSuccess', 'Sum', ['Component'], '{{component}}')],
      },
      {
        id: 7,
        title: 'Scheduler heartbeat age',
        description: 'Seconds since the scheduler last heartbeat (metadb).',
        unit: 's',
        queries: [q('A', 'SchedulerHeartbeatAgeSeconds', 'Maximum')],
      },
      {
        id: 8,
        title: 'Metadb and broker up',
        description: '1 when queue-depth reached them at its last poll.',
        unit: 'short',
        type: 'stat',
        queries: [q('A', 'MetadbUp', 'Minimum', [], 'metadb'), q('B', 'BrokerUp', 'Minimum', [], 'broker')],
      },
    ],
  },
  {
    uid: 'windsock-log-shipping',
    title: 'Windsock: log shipping',
    panels: [
      {
        id: 1,
        title: 'Bytes shipped',
        description: 'New bytes confirmed in S3.',
        unit: 'bytes',
        queries: [q('A', 'LogShippedBytes', 'Sum')],
      },
      {
        id: 2,
        title: 'Uploads by kind',
        description: 'Confirmed live and final uploads.',
        unit: 'short',
        queries: [q('A', 'LogUploads', 'Sum', ['Kind'], '{{kind}}')],
      },
      {
        id: 3,
        title: 'Ship lag p99',
        description: 'First unshipped write to those bytes confirmed in S3.',
        unit: 's',
        queries: [q('A', 'LogShipLag', 'p99')],
      },
      {
        id: 4,
        title: 'Failures and retries',
        description: 'Uploads given up, and S3 requests retried, by reason.',
        unit: 'short',
        queries: [
          q('A', 'LogShipFailures', 'Sum', ['Reason'], 'failed {{reason}}'),
          q('B', 'LogShipRetries', 'Sum', ['Reason'], 'retried {{reason}}'),
        ],
      },
      {
        id: 5,
        title: 'Backlog',
        description: 'Files and bytes not yet confirmed in S3.',
        unit: 'short',
        queries: [
          q('A', 'LogShipBacklogFiles', 'Maximum', [], 'files'),
          q('B', 'LogShipBacklogBytes', 'Maximum', [], 'bytes'),
        ],
      },
    ],
  },
  {
    uid: 'windsock-containers',
    title: 'Windsock: containers',
    panels: [
      {
        id: 1,
        title: 'CPU cores per container',
        description: 'cAdvisor container_cpu_usage_seconds_total rate (container-stats).',
        unit: 'short',
        queries: [
          {
            refId: 'A',
            expr: 'sum by (name) (rate(container_cpu_usage_seconds_total{name!=""}[5m]))',
            uses: ['container_cpu_usage_seconds_total'],
            legend: '{{name}}',
          },
          q('B', 'ContainerCpuCoresMaximum', 'Maximum', ['ContainerName'], '{{container_name}}'),
        ],
      },
      {
        id: 2,
        title: 'Memory working set',
        description: 'What the kernel would not reclaim: the OOM killer looks at this.',
        unit: 'bytes',
        queries: [
          {
            refId: 'A',
            expr: 'max by (name) (container_memory_working_set_bytes{name!=""})',
            uses: ['container_memory_working_set_bytes'],
            legend: '{{name}}',
          },
          q('B', 'ContainerMemoryWorkingSetMaximum', 'Maximum', ['ContainerName'], '{{container_name}}'),
        ],
      },
      {
        id: 3,
        title: 'Memory vs limit',
        description: 'Working set over the memory limit (0 limit = unlimited, left out).',
        unit: 'percentunit',
        queries: [
          {
            refId: 'A',
            expr: 'max by (name) (container_memory_working_set_bytes{name!=""}) / max by (name) (container_spec_memory_limit_bytes{name!=""} > 0)',
            uses: ['container_memory_working_set_bytes', 'container_spec_memory_limit_bytes'],
            legend: '{{name}}',
          },
        ],
      },
      {
        id: 4,
        title: 'CPU throttling',
        description: 'Share of CFS periods throttled.',
        unit: 'percentunit',
        queries: [
          {
            refId: 'A',
            expr: 'sum by (name) (rate(container_cpu_cfs_throttled_periods_total{name!=""}[5m])) / sum by (name) (rate(container_cpu_cfs_periods_total{name!=""}[5m]))',
            uses: ['container_cpu_cfs_throttled_periods_total', 'container_cpu_cfs_periods_total'],
            legend: '{{name}}',
          },
        ],
      },
      {
        id: 5,
        title: 'OOM kills',
        description: 'OOM events per container.',
        unit: 'short',
        queries: [
          {
            refId: 'A',
            expr: 'sum by (name) (increase(container_oom_events_total{name!=""}[5m]))',
            uses: ['container_oom_events_total'],
            legend: '{{name}}',
          },
        ],
      },
      {
        id: 6,
        title: 'Network',
        description: 'Bytes received and sent per container.',
        unit: 'Bps',
        queries: [
          {
            refId: 'A',
            expr: 'sum by (name) (rate(container_network_receive_bytes_total{name!=""}[5m]))',
            uses: ['container_network_receive_bytes_total'],
            legend: 'rx {{name}}',
          },
          {
            refId: 'B',
            expr: 'sum by (name) (rate(container_network_transmit_bytes_total{name!=""}[5m]))',
            uses: ['container_network_transmit_bytes_total'],
            legend: 'tx {{name}}',
          },
        ],
      },
    ],
  },
];

const isProm = (x: MetricQuery | PromQuery): x is PromQuery => 'expr' in x;

/** The PromQL of a catalog query (the `cluster` label filters by the $cluster variable). */
export function promQL(x: MetricQuery, cluster = '$cluster'): string {
  const spec = metric(x.metric);
  const name = promName(x.metric);
  const matchers = [
    ...(spec.dimensions.includes('Cluster') ? [`cluster="${cluster}"`] : []),
    ...Object.entries(x.filter ?? {}).map(([k, v]) => `${labelName(k)}="${v}"`),
  ].join(',');
  const by = x.by.map(labelName).join(', ');
  const sel = `${name}{${matchers}}`;
  if (spec.kind === 'distribution') {
    return `histogram_quantile(0.99, sum by (${['le', ...x.by.map(labelName)].join(', ')}) (rate(${name}_bucket{${matchers}}[5m])))`;
  }
  if (spec.kind === 'counter') return `sum by (${by}) (increase(${sel}[5m]))`;
  const agg = x.stat === 'Minimum' ? 'min' : x.stat === 'Average' ? 'avg' : x.stat === 'Sum' ? 'sum' : 'max';
  return `${agg} by (${by}) (${sel})`;
}

/** Every catalog metric a dashboard or its queries name. */
export function dashboardMetrics(d: DashboardDef): { windsock: string[]; cadvisor: string[] } {
  const windsock = new Set<string>();
  const cadvisor = new Set<string>();
  for (const p of d.panels)
    for (const x of p.queries) {
      if (isProm(x)) for (const u of x.uses) cadvisor.add(u);
      else windsock.add(x.metric);
    }
  for (const c of cadvisor)
    if (!(CADVISOR_METRICS as readonly string[]).includes(c))
      throw new Error(`${d.uid}: ${c} is not a family container-stats serves`);
  for (const w of windsock) metric(w);
  return { windsock: [...windsock], cadvisor: [...cadvisor] };
}

/** The fields of Grafana's classic dashboard JSON model this generator writes. */
export interface GrafanaDashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: 'browser';
  editable: boolean;
  graphTooltip: 0 | 1 | 2;
  schemaVersion: number;
  time: { from: string; to: string };
  refresh: string;
  templating: { list: GrafanaVariable[] };
  annotations: { list: unknown[] };
  panels: GrafanaPanel[];
}
interface GrafanaVariable {
  type: 'datasource' | 'query' | 'textbox' | 'custom';
  name: string;
  label: string;
  query: string;
  current?: { text: string; value: string };
  datasource?: { type: string; uid: string };
  refresh?: 0 | 1 | 2;
  hide?: 0 | 1 | 2;
}
export interface GrafanaPanel {
  id: number;
  type: 'timeseries' | 'stat';
  title: string;
  description: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig: { defaults: { unit: string }; overrides: unknown[] };
  options: Record<string, unknown>;
  targets: Array<Record<string, unknown> & { refId: string }>;
}

/** A Grafana dashboard of this definition, with Prometheus or CloudWatch queries. */
export function grafanaDashboard(d: DashboardDef, flavour: 'prometheus' | 'cloudwatch'): GrafanaDashboard {
  dashboardMetrics(d);
  // Grafana's variable syntax, not a template literal.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana resolves ${datasource}
  const ds = { type: flavour, uid: '${datasource}' };
  const panels: GrafanaPanel[] = d.panels.map((p, i) => ({
    id: p.id,
    type: p.type ?? 'timeseries',
    title: p.title,
    description: p.description,
    datasource: ds,
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: {
      legend: { showLegend: true, displayMode: 'list', placement: 'bottom' },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: p.queries.flatMap((x): Array<Record<string, unknown> & { refId: string }> => {
      if (flavour === 'prometheus') {
        if (isProm(x))
          return [
            {
              refId: x.refId,
              datasource: ds,
              expr: x.expr,
              legendFormat: x.legend ?? '__auto',
              editorMode: 'code',
              range: true,
            },
          ];
        return [
          {
            refId: x.refId,
            datasource: ds,
            expr: promQL(x),
            legendFormat: x.legend ?? '__auto',
            editorMode: 'code',
            range: true,
          },
        ];
      }
      if (isProm(x)) return [];
      const spec = metric(x.metric);
      // CloudWatch matches a dimension set exactly: every dimension the metric has, `*` for the unfiltered.
      const dims: Record<string, string> = {};
      for (const dim of spec.dimensions) dims[dim] = dim === 'Cluster' ? '$cluster' : (x.filter?.[dim] ?? '*');
      return [
        {
          refId: x.refId,
          datasource: ds,
          queryMode: 'Metrics',
          region: 'default',
          namespace: '$namespace',
          metricName: x.metric,
          dimensions: dims,
          // Series with an optional dimension (a Queue) are another set: match them too.
          matchExact: !spec.optional,
          statistic: x.stat,
          period: '',
          metricQueryType: 0,
          metricEditorMode: 0,
          id: '',
          expression: '',
          label: x.legend
            ? x.legend.replace(/\{\{(\w+)\}\}/g, (_m, l: string) => `\${PROP('Dim.${dimOf(x, l)}')}`)
            : '',
        },
      ];
    }),
  }));
  const variables: GrafanaVariable[] = [
    { type: 'datasource', name: 'datasource', label: 'Data source', query: flavour },
    flavour === 'prometheus'
      ? {
          type: 'query',
          name: 'cluster',
          label: 'Cluster',
          query: 'label_values(windsock_metadb_up, cluster)',
          datasource: ds,
          refresh: 2,
        }
      : {
          type: 'textbox',
          name: 'cluster',
          label: 'Cluster',
          query: 'airflow',
          current: { text: 'airflow', value: 'airflow' },
        },
    ...(flavour === 'cloudwatch'
      ? [
          {
            type: 'textbox' as const,
            name: 'namespace',
            label: 'Namespace',
            query: 'Windsock',
            current: { text: 'Windsock', value: 'Windsock' },
          },
        ]
      : []),
  ];
  return {
    uid: flavour === 'prometheus' ? d.uid : `${d.uid}-cw`,
    title: flavour === 'prometheus' ? d.title : `${d.title} (CloudWatch)`,
    tags: ['windsock', flavour],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    templating: { list: variables },
    annotations: { list: [] },
    panels: panels.filter((p) => p.targets.length > 0),
  };
}

function dimOf(x: MetricQuery, label: string): string {
  return x.by.find((b) => labelName(b) === label) ?? label;
}

/** A CloudWatch dashboard body (PutDashboard) for a definition's catalog queries, for one cluster. */
export function cloudWatchDashboardBody(
  d: DashboardDef,
  opts: { cluster: string; namespace: string; region: string },
): string {
  const widgets = d.panels
    .map((p, i) => {
      const metrics: unknown[] = [];
      for (const x of p.queries) {
        if (isProm(x)) continue;
        const spec = metric(x.metric);
        const schema = [opts.namespace, ...spec.dimensions].join(',');
        const terms = [
          `MetricName="${x.metric}"`,
          ...(spec.dimensions.includes('Cluster') ? [`Cluster="${opts.cluster}"`] : []),
        ];
        for (const [k, v] of Object.entries(x.filter ?? {})) terms.push(`${k}="${v}"`);
        metrics.push([
          {
            expression: `SEARCH('{${schema}} ${terms.join(' ')}', '${x.stat}', 300)`,
            id: `${x.refId.toLowerCase()}${p.id}`,
            label: '',
          },
        ]);
      }
      if (metrics.length === 0) return undefined;
      return {
        type: 'metric',
        x: (i % 2) * 12,
        y: Math.floor(i / 2) * 6,
        width: 12,
        height: 6,
        properties: { title: p.title, view: 'timeSeries', region: opts.region, metrics, period: 300, stat: 'Sum' },
      };
    })
    .filter((w) => w !== undefined);
  return JSON.stringify({ widgets });
}
