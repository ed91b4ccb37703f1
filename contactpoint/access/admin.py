from django.contrib import admin

from .models import Profile, Role


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    readonly_fields = ["code", "name", "description", "permissions"]

    def has_add_permission(self, request):
        return False  # roles are declared in roles.py and applied by sync_roles


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "organisation", "local_authority", "dbs_checked_on"]
    list_filter = ["role", "local_authority"]
    search_fields = ["user__username", "organisation__name"]
    raw_id_fields = ["organisation", "local_authority"]
