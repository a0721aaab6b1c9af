export default ({ env }) => ({
  host: env('HOST', '0.0.0.0'),
  port: env.int('PORT', 1337),
  app: { keys: env.array('APP_KEYS') },
  // The vault's daily jobs (document expiry); off in tests unless asked (they call the jobs directly).
  cron: { enabled: env.bool('CRON_ENABLED', env('NODE_ENV') !== 'test') },
});
