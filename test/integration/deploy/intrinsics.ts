/**
 * CloudFormation's intrinsic functions, evaluated against a deployed stack, so a template value can be
 * compared with what the AWS APIs return. Only what our templates use; anything else throws, naming it,
 * rather than comparing something half-resolved.
 */

export interface StackValues {
  account: string;
  region: string;
  stackName: string;
  /** Ref of each resource: its physical id. */
  refs: Record<string, string>;
  /** Fn::GetAtt values, by logical id and attribute. */
  attributes: Record<string, Record<string, string>>;
  /** The logical ids CloudFormation created (moto skips the types it does not model). */
  created: string[];
}

const pseudoParameters = (stack: StackValues): Record<string, string> => ({
  'AWS::AccountId': stack.account,
  'AWS::Region': stack.region,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': stack.stackName,
});

function ref(name: string, stack: StackValues): string {
  const value = pseudoParameters(stack)[name] ?? stack.refs[name];
  if (value === undefined) throw new Error(`intrinsics: no value for Ref ${name}`);
  return value;
}

function getAtt(logicalId: string, attribute: string, stack: StackValues): string {
  const value = stack.attributes[logicalId]?.[attribute];
  if (value === undefined) throw new Error(`intrinsics: no value for Fn::GetAtt ${logicalId}.${attribute}`);
  return value;
}

function sub(template: string, variables: Record<string, unknown>, stack: StackValues): string {
  return template.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
    if (literal) return `\${${name}}`;
    if (name in variables) return String(resolveIntrinsics(variables[name], stack));
    const dot = name.indexOf('.');
    return dot > 0 && !name.startsWith('AWS::')
      ? getAtt(name.slice(0, dot), name.slice(dot + 1), stack)
      : ref(name, stack);
  });
}

/** `value` with every Ref, Fn::GetAtt, Fn::Sub and Fn::Join replaced by its deployed value. */
export function resolveIntrinsics(value: unknown, stack: StackValues): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, stack));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
    switch (key) {
      case 'Ref':
        return ref(String(argument), stack);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
        return getAtt(String(logicalId), String(attribute), stack);
      }
      case 'Fn::Sub': {
        const [template, variables] = Array.isArray(argument) ? argument : [argument, {}];
        return sub(String(template), variables as Record<string, unknown>, stack);
      }
      case 'Fn::Join': {
        const [delimiter, parts] = argument as [string, unknown[]];
        return (resolveIntrinsics(parts, stack) as unknown[]).join(delimiter);
      }
      default:
        throw new Error(`intrinsics: ${key} is not supported by this test`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveIntrinsics(v, stack)]));
}
