"""Undo of an import (the leads each batch created), re-engagement by event type, and the
per-IP limit counted by network block (an IPv6 /64, where one visitor gets many addresses)."""

import ipaddress

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# A lead on a nurture sequence that does one of these is back: a person acted, not a pixel.
REENGAGING = [
    "webinar_registered",
    "webinar_attended",
    "content_downloaded",
    "email_replied",
    "meeting_booked",
    "badge_scanned",
]


def fill(apps, schema_editor):
    EventType = apps.get_model("intake", "EventType")
    Submission = apps.get_model("intake", "Submission")
    EventType.objects.filter(kind__in=REENGAGING).update(reengages=True)
    for sub in Submission.objects.exclude(ip=None).only("id", "ip").iterator():
        address = ipaddress.ip_address(sub.ip)
        block = (
            str(ipaddress.ip_network(f"{address}/64", strict=False))
            if address.version == 6 and not address.ipv4_mapped
            else str(address.ipv4_mapped or address)
        )
        Submission.objects.filter(pk=sub.pk).update(ip_block=block)


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0002_event_types_and_engagement_rules'),
        ('leads', '0004_event_summary_text'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first_row', models.PositiveIntegerField()),
                ('created', models.JSONField(default=list)),
                ('created_count', models.PositiveIntegerField(default=0)),
                ('at', models.DateTimeField()),
            ],
            options={
                'ordering': ['first_row'],
            },
        ),
        migrations.AddField(
            model_name='eventtype',
            name='reengages',
            field=models.BooleanField(default=False, help_text='Brings a nurtured lead back to working, with a follow-up for its owner'),
        ),
        migrations.AddField(
            model_name='import',
            name='undo_counts',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='import',
            name='undone_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='import',
            name='undone_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='submission',
            name='ip_block',
            field=models.CharField(blank=True, help_text='what the per-IP limit counts: an IPv6 /64 or the IPv4', max_length=50),
        ),
        migrations.AlterField(
            model_name='import',
            name='status',
            field=models.CharField(choices=[('uploaded', 'Uploaded'), ('checking', 'Dry run in progress'), ('checked', 'Dry run done'), ('importing', 'Importing'), ('done', 'Done'), ('failed', 'Failed'), ('undoing', 'Undo in progress'), ('undone', 'Undone')], default='uploaded', max_length=10),
        ),
        migrations.AddIndex(
            model_name='submission',
            index=models.Index(fields=['ip_block', 'received_at'], name='submission_ip_block'),
        ),
        migrations.AddField(
            model_name='importbatch',
            name='upload',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='batches', to='intake.import'),
        ),
        migrations.AddIndex(
            model_name='importbatch',
            index=models.Index(fields=['upload', 'first_row'], name='import_batch_row'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
