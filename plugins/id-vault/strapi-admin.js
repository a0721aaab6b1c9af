// The admin bundler compiles the plugin's admin from source.
export { default } from './admin/src';
