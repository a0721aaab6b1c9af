export default ({ env }) => ({
  'users-permissions': { config: { jwtSecret: env('JWT_SECRET') } },
  'id-vault': {
    enabled: true,
    resolve: './plugins/id-vault',
    config: {
      // Bits kept of each HMAC blind index when a field does not say (32..256, multiple of 8).
      defaultIndexBits: env.int('ID_VAULT_INDEX_BITS', 64),
      // Longest temporary access grant, in days (at most 30).
      grantMaxDays: env.int('ID_VAULT_GRANT_MAX_DAYS', 30),
    },
  },
});
