import { definePlugin } from '../../src/plugin.js';
import { AclPlugin, compilePolicy, type AclOptions } from './acl.js';

export { AclPlugin, compilePolicy, type AclOptions, type Action, type BlockOptions, type RuleOptions } from './acl.js';

const ZONE = { type: 'string', minLength: 1, maxLength: 253, pattern: '^(\\.|[A-Za-z0-9_*-][A-Za-z0-9_.*-]*)$' };
const RULE = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { enum: ['allow', 'refuse', 'drop'], description: 'allow: pass on; refuse: answer REFUSED; drop: send nothing' },
    net: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'client networks (CIDR or address); absent: every client' },
    type: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: 'query types; absent: every type' },
  },
};
const RULES = { type: 'array', minItems: 1, items: RULE };
const ZONES = { type: 'array', minItems: 1, items: ZONE };

export default definePlugin<AclOptions>({
  name: 'acl',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      zones: { ...ZONES, description: 'zones the top-level rules apply to (default: every name)' },
      rules: { ...RULES, description: 'rules tried in order; the first that matches decides' },
      blocks: {
        type: 'array',
        minItems: 1,
        items: { type: 'object', additionalProperties: false, required: ['zones', 'rules'], properties: { zones: ZONES, rules: RULES } },
        description: 'several zones with their own rules, tried in order after the top-level rules',
      },
    },
  },
  setup(opts, ctx) {
    const blocks = compilePolicy(opts, `chain[${ctx.index}].acl`);
    const counter = ctx.metrics.counter('acl_requests_total', 'Queries an acl rule matched, by action.', ['action'] as const);
    return new AclPlugin(blocks, counter);
  },
});
