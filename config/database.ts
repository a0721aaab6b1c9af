import path from 'path';

/**
 * SQLite (.tmp/data.db) by default; PostgreSQL with DATABASE_CLIENT=postgres and either DATABASE_URL
 * or DATABASE_HOST/PORT/NAME/USERNAME/PASSWORD.
 */
export default ({ env }) => {
  const client = env('DATABASE_CLIENT', 'sqlite');
  if (client === 'postgres') {
    const url = env('DATABASE_URL');
    return {
      connection: {
        client: 'postgres',
        connection: url
          ? { connectionString: url, ssl: env.bool('DATABASE_SSL', false) }
          : {
              host: env('DATABASE_HOST', '127.0.0.1'),
              port: env.int('DATABASE_PORT', 5432),
              database: env('DATABASE_NAME', 'id_vault'),
              user: env('DATABASE_USERNAME', 'postgres'),
              password: env('DATABASE_PASSWORD', ''),
              ssl: env.bool('DATABASE_SSL', false),
            },
        pool: { min: env.int('DATABASE_POOL_MIN', 0), max: env.int('DATABASE_POOL_MAX', 10) },
        compileSqlOnError: false,
      },
    };
  }
  if (client !== 'sqlite') throw new Error(`DATABASE_CLIENT must be sqlite or postgres (got ${client})`);
  return {
    connection: {
      client: 'sqlite',
      // Relative to the project root (config is compiled into dist/config); an absolute path is kept.
      connection: { filename: path.resolve(__dirname, '..', '..', env('DATABASE_FILENAME', '.tmp/data.db')) },
      useNullAsDefault: true,
      // A failed statement's error carries its SQL with placeholders, not its values (knex inlines the
      // bindings by default: plain columns such as a customer's name would reach logs and error reports).
      compileSqlOnError: false,
      // WAL with synchronous=NORMAL: a commit appends to the log without an fsync of its own (checkpoints
      // sync), so every request that records an audit event — reads included — does not pay a disk flush.
      // Committed data survives a crash or kill -9 of the process; only a power loss or OS crash can lose the
      // last commits (SQLite's documented trade-off; use PostgreSQL where that matters).
      pool: {
        afterCreate: (conn: any, done: (err: Error | null, conn: any) => void) => {
          try {
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            done(null, conn);
          } catch (e) {
            done(e as Error, conn);
          }
        },
      },
    },
  };
};
