// The application itself adds nothing: everything lives in the id-vault plugin (plugins/id-vault).
export default {
  register() {},
  bootstrap() {},
};
