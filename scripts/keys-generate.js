'use strict';
/** Prints a new master key entry (keyId:base64) for ID_VAULT_MASTER_KEYS. Nothing is stored. */
const { crypto } = require('./lib');

const id = process.argv[2];
const entry = crypto().generateMasterKeyEntry(id);
console.log(entry);
console.error(
  '\nPut it FIRST in ID_VAULT_MASTER_KEYS to make it the active key, keep the older entries after it so\n' +
    'existing data stays readable, and back it up apart from the database.'
);
