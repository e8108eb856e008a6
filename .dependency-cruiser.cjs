// The parts of Slate and the arrows between them (docs/adr/0001-architecture.md, "What may import what"),
// checked by dependency-cruiser in `npm run lint` and so in CI. A rule names the part it constrains in `from`
// and what that part must not reach in `to`. Tests (`*.test.ts`, `*.suite.ts`, fixtures) may reach further
// than production code where a rule says so: they start real services.
//
// CommonJS because dependency-cruiser loads its configuration with require().

/** Test-only files: unit and integration tests, shared suites, fixtures, and the testing helpers. */
const TEST_FILES = '(\\.test\\.ts|\\.test-d\\.ts|\\.suite\\.ts|\\.int\\.test\\.ts)$|/fixtures/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'graph-is-a-leaf',
      comment:
        'packages/graph is the pure feature-graph model everything rests on: it imports no other Slate part, ' +
        'no server, no scheduler and no HTTP.',
      severity: 'error',
      from: { path: '^packages/graph/src' },
      to: { path: '^(packages/(?!graph/)|apps/)' },
    },
    {
      name: 'graph-knows-no-http-or-time-loops',
      comment:
        'The graph package is a model: no HTTP framework, no network, no logger, no metrics. (croner stays: ' +
        'parsing a cron expression and listing its fire times is part of the model both planes share.)',
      severity: 'error',
      from: { path: '^packages/graph/src' },
      to: {
        path: '^(node_modules/(fastify|@fastify|undici|pino|prom-client)/|(node:)?(http|https|http2|net)$)',
      },
    },
    {
      name: 'scheduling-is-a-leaf',
      comment:
        "packages/scheduling holds the loop both planes' schedulers run; it imports no other Slate part.",
      severity: 'error',
      from: { path: '^packages/scheduling/src' },
      to: { path: '^(packages/(?!scheduling/)|apps/)' },
    },
    {
      name: 'sdk-only-on-graph',
      comment:
        'What users import to define features must stay small and isomorphic: the SDK never pulls in the ' +
        'engine, the stores, a plane, the client or the CLI.',
      severity: 'error',
      from: { path: '^packages/sdk/src', pathNot: TEST_FILES },
      to: { path: '^(packages/(?!graph/|sdk/)|apps/)' },
    },
    {
      name: 'engine-knows-no-plane-or-http',
      comment:
        'The engine plans and executes; I/O only through the store and runtime interfaces. It imports no ' +
        'plane, no HTTP edge, no client or CLI, and no HTTP framework.',
      severity: 'error',
      from: { path: '^packages/engine/src', pathNot: TEST_FILES },
      to: {
        path: '^(apps/|packages/(client|cli|http-edge|grpc-api)/|node_modules/(fastify|@fastify|undici)/)',
      },
    },
    {
      name: 'engine-uses-sdk-only-to-load-user-code',
      comment:
        'The engine reaches the SDK only where it loads a deployed bundle (the resolver runtimes: the ' +
        "function types and collectGraph over the bundle's exports; the model host, which implements the " +
        "SDK's ModelProvider that user resolvers call). SQL generation shared by both lives in " +
        'packages/graph (ADR 0001).',
      severity: 'error',
      from: {
        path: '^packages/engine/src',
        pathNot: `^packages/engine/src/(runtime/(call-resolver\\.ts|in-process/|worker/)|models/)|${TEST_FILES}`,
      },
      to: { path: '^packages/sdk/' },
    },
    {
      name: 'stores-only-on-graph',
      comment:
        'Store interfaces and backends depend on the graph model only: no engine, SDK, plane or client.',
      severity: 'error',
      from: { path: '^packages/stores/src', pathNot: TEST_FILES },
      to: { path: '^(apps/|packages/(?!graph/|stores/))' },
    },
    {
      name: 'edges-are-libraries',
      comment:
        'The HTTP and gRPC edges are shared by both planes; they never import a plane, the engine or the SDK.',
      severity: 'error',
      from: { path: '^packages/(http-edge|grpc-api)/src', pathNot: TEST_FILES },
      to: { path: '^(apps/|packages/(engine|sdk|stores|client|cli)/)' },
    },
    {
      name: 'client-talks-http-only',
      comment:
        'The typed client speaks the public HTTP APIs of both planes; its production code imports no plane, ' +
        'engine, store or SDK (its contract test starts real planes).',
      severity: 'error',
      from: { path: '^packages/client/src', pathNot: TEST_FILES },
      to: { path: '^(apps/|packages/(engine|sdk|stores|cli|http-edge)/)' },
    },
    {
      name: 'web-uses-the-public-api-through-the-client',
      comment:
        'The web UI uses only the public REST API, through @slate/client (and the graph model for types). ' +
        'It never imports a plane, the engine or the stores.',
      severity: 'error',
      from: { path: '^apps/web/src' },
      to: { path: '^(apps/(?!web/)|packages/(?!client/|graph/))' },
    },
    {
      name: 'planes-talk-over-http-and-queues',
      comment:
        'The metadata plane and data planes are separate processes: neither imports the other. Tests that ' +
        'need both live in e2e/.',
      severity: 'error',
      from: { path: '^apps/metadata-plane/' },
      to: { path: '^apps/(data-plane|platform|web)/' },
    },
    {
      name: 'data-plane-knows-no-metadata-plane',
      comment: 'The data plane reaches the metadata plane over HTTP (desired state, JWKS), never by import.',
      severity: 'error',
      from: { path: '^apps/data-plane/' },
      to: { path: '^apps/(metadata-plane|platform|web)/' },
    },
    {
      name: 'cli-is-thin-over-the-client',
      comment:
        'The CLI installs without the servers: it imports no plane and no store statically. `slate up` loads ' +
        'the embedded platform (apps/platform) with a dynamic import, so every other command starts without it.',
      severity: 'error',
      from: { path: '^packages/cli/src', pathNot: TEST_FILES },
      to: {
        path: '^(apps/|packages/(stores|engine)/)',
        dynamic: false,
        dependencyTypesNot: ['type-only', 'type-import'],
      },
    },
    {
      name: 'cli-reaches-only-the-platform-app',
      comment: 'Of the apps, the CLI may load only the embedded platform (dynamically, see above).',
      severity: 'error',
      from: { path: '^packages/cli/src', pathNot: TEST_FILES },
      to: { path: '^apps/(?!platform/)' },
    },
    {
      name: 'libraries-import-no-app',
      comment: 'packages/* are libraries; apps/* are processes that wire them. No library imports an app.',
      severity: 'error',
      from: { path: '^packages/(?!cli/|client/)[^/]+/src', pathNot: TEST_FILES },
      to: { path: '^apps/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(packages|apps)/[^/]+/(dist|node_modules)/|/src/gen/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
