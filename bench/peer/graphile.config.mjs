// PostGraphile 5, the benchmark's peer, serving hoi-ccb's own database (schema public) on the loopback only:
// no GraphiQL, no schema watching. Started by bench/run.sh with
//   DATABASE_URL=… PORT=… PG_POOL_MAX=… node node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  // Conditions on every column, indexed or not (`status`, `revokedAt`), so the peer can ask for exactly the rows
  // our server returns (active members, standing awards). This widens the schema only; the SQL of a request
  // follows from the request.
  disablePlugins: ["PgIndexBehaviorsPlugin"],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      // The same pool size as our server's DB_POOL_SIZE (bench/run.sh sets both).
      poolConfig: { max: Number(process.env.PG_POOL_MAX ?? 16) },
    }),
  ],
  grafserv: { host: "127.0.0.1", port: Number(process.env.PORT ?? 5678), graphiql: false, watch: false },
  grafast: {
    // A base official's view: header `x-base-id: <row id>` runs the request as role pgl_viewer with
    // app.base_id set, under the row-level-security policy of peer.sql. Without it, the request runs as the
    // connecting user (the database owner), like our ADMIN token.
    context(requestContext) {
      const baseId = requestContext.node?.req?.headers?.["x-base-id"];
      return baseId ? { pgSettings: { role: "pgl_viewer", "app.base_id": String(baseId) } } : {};
    },
  },
};
export default preset;
