import { EC2ServiceException } from '@aws-sdk/client-ec2';

/** An error shaped like the ones the AWS SDK throws for a service's error response. */
export function awsError(
  name: string,
  httpStatusCode: number,
  options: { message?: string; headers?: Record<string, string> } = {},
): EC2ServiceException {
  const error = new EC2ServiceException({
    name,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode },
    message: options.message ?? name,
  });
  if (options.headers)
    error.$response = { statusCode: httpStatusCode, headers: options.headers, body: undefined };
  return error;
}
