# Sourced by every project command (bin/thea, bin/setup, the Makefile's recipes): puts the
# project's Node runtime first on PATH and makes node-gyp build addons against its headers.
# A fresh Debian machine's npmrc points node-gyp at the system Node 20 headers, which yields
# addons that Node 24 refuses with "Module did not self-register".
THEA_ROOT=${THEA_ROOT:-$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)}
if [ -x "$THEA_ROOT/.runtime/node/bin/node" ]; then
  PATH="$THEA_ROOT/.runtime/node/bin:$PATH"
  npm_config_nodedir="$THEA_ROOT/.runtime/node"
  export npm_config_nodedir
fi
PATH="$THEA_ROOT/node_modules/.bin:$PATH"
export PATH THEA_ROOT
