/**
 * The layers of thea, bottom first: a folder may import its own files and the layers below it,
 * never one above (STYLE.md, "Layers, written down"; docs/architecture.md draws them). An upward
 * call a layer needs is an interface passed in, not an import. test/architecture.test.ts runs
 * these rules in CI, and checks from this tool's output that no two folders import each other
 * round a circle, also within one layer; `npx depcruise --config .dependency-cruiser.cjs lib drivers config agent tools`
 * prints the same verdict by hand.
 */
const LAYERS = [
  ["lib", "^lib/", "small shared helpers that know nothing of thea (backoff, atomic files, waitress, logging)"],
  ["drivers/core", "^drivers/core/", "the driver contract and the vocabulary of observations"],
  ["drivers/links", "^drivers/(serial|net)/", "byte links and framers shared by device families"],
  ["drivers/families", "^drivers/(?!core/|serial/|net/)[^/]+/", "one folder per device family"],
  ["drivers/registry", "^drivers/index\\.ts$", "the list of every driver"],
  ["config", "^config/", "the configuration schema: types, defaults, docs"],
  ["agent/core", "^agent/core/", "errors, the run's context, the MQTT API's topics and payload types"],
  ["agent/config", "^agent/config/", "reading and resolving configuration (file, environment, remote layer)"],
  ["agent/mqtt", "^agent/mqtt/", "the broker connection and topic routing"],
  ["agent/outbox", "^agent/outbox/", "the durable queue of what is to be published"],
  ["agent/commands", "^agent/commands/", "the command router and the command contract"],
  ["agent/systemd", "^agent/systemd/", "readiness and the watchdog"],
  ["agent/management", "^agent/management/", "diagnostics, logs, reboot"],
  ["agent/devices", "^agent/devices/", "peripherals: links, sessions, readings"],
  ["agent/update", "^agent/update/", "signed updates and rollback"],
  ["agent/media", "^agent/media/", "cameras, pipelines, viewers"],
  ["agent/remoteConfig", "^agent/remoteConfig/", "config/desired to config/reported"],
  ["agent/telemetry", "^agent/telemetry/", "status, health, summary"],
  ["agent", "^agent/[^/]+\\.ts$", "the composition root and the agent's entry"],
  ["tools", "^tools/", "simulate, decode, console, release, roster: never imported by the agent"],
];

const upward = LAYERS.slice(0, -1).map(([name, from], index) => ({
  name: `layer:${name}`,
  comment: `${name} may import only itself and the layers below it`,
  severity: "error",
  from: { path: from },
  to: { path: LAYERS.slice(index + 1).map(([, path]) => path) },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "no-circular",
      comment: "a cycle ties its files into one unit that cannot be understood or tested alone",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "family-to-family",
      comment: "a device family is data plus small functions; what two families share lives below them",
      severity: "error",
      from: { path: "^drivers/((?!core/|serial/|net/)[^/]+)/" },
      to: { path: "^drivers/(?!core/|serial/|net/)[^/]+/", pathNot: "^drivers/$1/" },
    },
    {
      name: "no-tests-or-benches",
      comment: "shipped code never imports a test, a helper of the tests or a bench",
      severity: "error",
      from: { path: "^(lib|drivers|config|agent|tools)/" },
      to: { path: "^(test|bench)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
