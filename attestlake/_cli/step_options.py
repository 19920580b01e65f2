"""Every collector step's options as typer declares them. Written by
``python -m attestlake._cli.help_pages`` (do not edit): see :mod:`attestlake._cli.step_args`.
"""

from attestlake._cli.step_spec import Option

STEPS: dict[str, tuple[Option, ...]] = {
    'add': (
        Option(name='value', opts=('--value',), off=(), kind='str', multiple=False, envvar=None, default=None, required=True, checked=False),
        Option(name='name', opts=('--name',), off=(), kind='str', multiple=False, envvar=None, default=None, required=False, checked=False),
        Option(name='kind', opts=('--kind',), off=(), kind='str', multiple=False, envvar=None, default=None, required=False, checked=True),
        Option(name='annotation', opts=('--annotation', '-a'), off=(), kind='str', multiple=True, envvar=None, default=None, required=False, checked=False),
        Option(name='state', opts=('--state',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_STATE', default='.attestlake/attestation.json', required=False, checked=False),
    ),
    'init': (
        Option(name='contract', opts=('--contract',), off=(), kind='str', multiple=False, envvar=None, default=None, required=True, checked=False),
        Option(name='workflow', opts=('--workflow',), off=(), kind='str', multiple=False, envvar=None, default=None, required=True, checked=False),
        Option(name='project', opts=('--project',), off=(), kind='str', multiple=False, envvar=None, default=None, required=True, checked=False),
        Option(name='team', opts=('--team',), off=(), kind='str', multiple=False, envvar=None, default=None, required=False, checked=False),
        Option(name='annotation', opts=('--annotation', '-a'), off=(), kind='str', multiple=True, envvar=None, default=None, required=False, checked=False),
        Option(name='dry_run', opts=('--dry-run',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='run_id', opts=('--run-id',), off=(), kind='str', multiple=False, envvar=None, default=None, required=False, checked=False),
        Option(name='to', opts=('--to',), off=(), kind='str', multiple=False, envvar='ATTESTLAKE_STORE', default=None, required=False, checked=False),
        Option(name='key', opts=('--key',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_KEY', default=None, required=False, checked=False),
        Option(name='keyless', opts=('--keyless',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='staging', opts=('--staging',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='trust', opts=('--trust',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_TRUST', default=None, required=False, checked=False),
        Option(name='state', opts=('--state',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_STATE', default='.attestlake/attestation.json', required=False, checked=False),
    ),
    'push': (
        Option(name='to', opts=('--to',), off=(), kind='str', multiple=False, envvar='ATTESTLAKE_STORE', default=None, required=False, checked=False),
        Option(name='key', opts=('--key',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_KEY', default=None, required=False, checked=False),
        Option(name='keyless', opts=('--keyless',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='staging', opts=('--staging',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='annotation', opts=('--annotation', '-a'), off=(), kind='str', multiple=True, envvar=None, default=None, required=False, checked=False),
        Option(name='provenance', opts=('--provenance',), off=('--no-provenance',), kind='flag', multiple=False, envvar=None, default=True, required=False, checked=False),
        Option(name='bundle_out', opts=('--bundle-out',), off=(), kind='path', multiple=False, envvar=None, default=None, required=False, checked=False),
        Option(name='trust', opts=('--trust',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_TRUST', default=None, required=False, checked=False),
        Option(name='state', opts=('--state',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_STATE', default='.attestlake/attestation.json', required=False, checked=False),
    ),
    'reset': (
        Option(name='trigger', opts=('--trigger',), off=(), kind='str', multiple=False, envvar=None, default='failure', required=False, checked=True),
        Option(name='reason', opts=('--reason',), off=(), kind='str', multiple=False, envvar=None, default=None, required=False, checked=False),
        Option(name='to', opts=('--to',), off=(), kind='str', multiple=False, envvar='ATTESTLAKE_STORE', default=None, required=False, checked=False),
        Option(name='key', opts=('--key',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_KEY', default=None, required=False, checked=False),
        Option(name='keyless', opts=('--keyless',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='staging', opts=('--staging',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='state', opts=('--state',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_STATE', default='.attestlake/attestation.json', required=False, checked=False),
    ),
    'status': (
        Option(name='as_json', opts=('--json',), off=(), kind='flag', multiple=False, envvar=None, default=False, required=False, checked=False),
        Option(name='state', opts=('--state',), off=(), kind='path', multiple=False, envvar='ATTESTLAKE_STATE', default='.attestlake/attestation.json', required=False, checked=False),
    ),
}
