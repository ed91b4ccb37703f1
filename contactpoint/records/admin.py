"""Reference data for the ContactPoint management team.

Child records are deliberately not registered: every read of child data must go through the
access-checked, audited door, and the admin is not it.
"""

from django.contrib import admin

from .models import Organisation, Practitioner, Source


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "code", "local_authority", "accredited"]
    list_filter = ["kind", "accredited"]
    search_fields = ["name", "code"]
    raw_id_fields = ["local_authority"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "organisation", "obligation", "authority_rank"]


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ["given_name", "family_name", "organisation", "job_title"]
    search_fields = ["family_name", "organisation__name"]
    raw_id_fields = ["organisation"]
